//! Users, provider groups, and applying a decision to them in one transaction.

use serde_json::json;

use super::{
    Audit, Result, Store, StoreError, WriteTx,
    audit::{self, Event},
    decisions,
    model::{DecisionRecord, ProviderGroupMark, UserRecord},
    no_realm,
    rows::{self, to_json, user_columns},
    write_error,
};

/// Everything one applied decision writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyDecision {
    /// The user's full new state: inserted if the id is new in the realm, else replaces the stored
    /// record (whose `created_at` is kept).
    pub user: UserRecord,
    /// Provider groups and their new marks, upserted per (tenant, realm, name).
    pub provider_groups: Vec<ProviderGroupMark>,
    /// The decision record; must be for this user, applied, not shadow.
    pub decision: DecisionRecord,
}

impl Store {
    /// The realm's user with this id, if any.
    pub async fn get_user(&self, tenant: &str, realm: &str, id: &str) -> Result<Option<UserRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id = $3"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::user)
        .transpose()
    }

    /// The realm's user with this user name (exact match), if any.
    pub async fn find_user_by_name(&self, tenant: &str, realm: &str, user_name: &str) -> Result<Option<UserRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND user_name = $3"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(user_name)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::user)
        .transpose()
    }

    /// The realm's user with this external id (the identity provider's user id), if any.
    pub async fn find_user_by_external_id(
        &self,
        tenant: &str,
        realm: &str,
        external_id: &str,
    ) -> Result<Option<UserRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND external_id = $3"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::user)
        .transpose()
    }

    /// A page of the realm's users ordered by id: those after `after_id` (the last id of the
    /// previous page), at most `limit` (negative counts as zero).
    pub async fn list_users(
        &self,
        tenant: &str,
        realm: &str,
        after_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserRecord>> {
        let query = match after_id {
            Some(after) => sqlx::query(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id > $3 ORDER BY id LIMIT $4"
            ))
            .bind(tenant)
            .bind(realm)
            .bind(after),
            None => sqlx::query(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE tenant_id = $1 AND realm_id = $2 ORDER BY id LIMIT $3"
            ))
            .bind(tenant)
            .bind(realm),
        };
        let found = query.bind(limit.max(0)).fetch_all(&self.pool).await?;
        rows::all(&found, rows::user)
    }

    /// The realm's provider group with its organizations, if the store knows it.
    pub async fn provider_group(&self, tenant: &str, realm: &str, name: &str) -> Result<Option<ProviderGroupMark>> {
        sqlx::query(
            "SELECT name, organizations FROM provider_groups WHERE tenant_id = $1 AND realm_id = $2 AND name = $3",
        )
        .bind(tenant)
        .bind(realm)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::provider_group)
        .transpose()
    }

    /// The realm's provider groups, by name.
    pub async fn list_provider_groups(&self, tenant: &str, realm: &str) -> Result<Vec<ProviderGroupMark>> {
        let found = sqlx::query(
            "SELECT name, organizations FROM provider_groups WHERE tenant_id = $1 AND realm_id = $2 ORDER BY name",
        )
        .bind(tenant)
        .bind(realm)
        .fetch_all(&self.pool)
        .await?;
        rows::all(&found, rows::provider_group)
    }

    /// Applies a decision in one transaction: writes the user (inserted or replaced), upserts the
    /// provider groups' marks, stores the decision record, and appends `user.created` (new user) or
    /// `user.updated` (stored fields other than login and update times changed) and
    /// `decision.applied`. All or nothing.
    ///
    /// `Conflict` naming both users if the user name or external id belongs to another user of the
    /// realm, or if the decision id is taken; `NotFound` if the realm is missing; `Invalid` if the
    /// user and the decision disagree on tenant, realm or user, or the decision is not an applied,
    /// non-shadow one.
    pub async fn apply_decision(&self, apply: ApplyDecision, audit: &Audit) -> Result<()> {
        let ApplyDecision { mut user, provider_groups, decision } = apply;
        check_consistent(&user, &decision)?;
        let (tenant, realm) = (user.tenant_id.clone(), user.realm_id.clone());
        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT id FROM realms WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(realm.as_str())
            .fetch_optional(tx.conn())
            .await?;
        if exists.is_none() {
            return Err(no_realm(&tenant, &realm));
        }
        let stored = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id = $3"
        ))
        .bind(tenant.as_str())
        .bind(realm.as_str())
        .bind(user.id.as_str())
        .fetch_optional(tx.conn())
        .await?
        .as_ref()
        .map(rows::user)
        .transpose()?;
        check_unique(&mut tx, &user).await?;
        if let Some(stored) = &stored {
            user.created_at = stored.created_at;
        }
        save_user(&mut tx, &user).await?;
        let mut events = Vec::new();
        match &stored {
            None => {
                let details = json!({
                    "realm_id": realm, "user_name": user.user_name, "external_id": user.external_id,
                    "status": user.status.as_str(), "organization": user.organization,
                });
                events.push(Event::new("user.created", user.id.as_str(), details));
            }
            Some(stored) => {
                let changed = changed_fields(stored, &user);
                if !changed.is_empty() {
                    let details = json!({
                        "realm_id": realm, "changed": changed, "status": user.status.as_str(),
                        "organization": user.organization,
                    });
                    events.push(Event::new("user.updated", user.id.as_str(), details));
                }
            }
        }
        // Sorted, so concurrent transactions lock group rows in one order (no deadlocks).
        let mut groups = provider_groups;
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        groups.dedup_by(|later, earlier| {
            let same = later.name == earlier.name;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        for group in &groups {
            sqlx::query(
                "INSERT INTO provider_groups (tenant_id, realm_id, name, organizations, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tenant_id, realm_id, name) DO UPDATE SET organizations = excluded.organizations, \
                 updated_at = excluded.updated_at",
            )
            .bind(tenant.as_str())
            .bind(realm.as_str())
            .bind(group.name.as_str())
            .bind(to_json(&group.organizations)?)
            .bind(audit.at)
            .execute(tx.conn())
            .await?;
        }
        decisions::insert(tx.conn(), &decision).await?;
        let details = json!({
            "decision_id": decision.id, "realm_id": realm, "user_id": user.id, "trigger": decision.trigger,
            "organization": user.organization, "rule_groups": user.rule_groups,
            "provider_groups": groups.iter().map(|g| json!({ "name": g.name, "organizations": g.organizations })).collect::<Vec<_>>(),
            "user_rules_version": decision.user_rules_version, "group_rules_version": decision.group_rules_version,
        });
        events.push(Event::new("decision.applied", user.id.as_str(), details));
        // Last: the audit-sequence bump locks the tenant's row until commit.
        audit::append(tx.conn(), &tenant, audit, events).await?;
        tx.commit().await
    }
}

/// The user and the decision must agree, and the decision must be an applied one.
fn check_consistent(user: &UserRecord, decision: &DecisionRecord) -> Result<()> {
    if user.tenant_id != decision.tenant_id || user.realm_id != decision.realm_id {
        return Err(StoreError::Invalid(format!(
            "the user is in {}/{} but the decision in {}/{}",
            user.tenant_id, user.realm_id, decision.tenant_id, decision.realm_id
        )));
    }
    if decision.user_id.as_deref() != Some(user.id.as_str()) {
        return Err(StoreError::Invalid(format!("the decision is not about user {}", user.id)));
    }
    if !decision.applied || decision.shadow {
        return Err(StoreError::Invalid("only an applied, non-shadow decision can be applied".into()));
    }
    Ok(())
}

/// `Conflict` if another user of the realm has the user's name or external id.
async fn check_unique(tx: &mut WriteTx, user: &UserRecord) -> Result<()> {
    let by_name =
        sqlx::query("SELECT id FROM users WHERE tenant_id = $1 AND realm_id = $2 AND user_name = $3 AND id <> $4")
            .bind(user.tenant_id.as_str())
            .bind(user.realm_id.as_str())
            .bind(user.user_name.as_str())
            .bind(user.id.as_str())
            .fetch_optional(tx.conn())
            .await?;
    if let Some(row) = by_name {
        let other: String = rows::get(&row, "id")?;
        return Err(StoreError::Conflict(format!(
            "user name {:?} of user {} is already that of user {other} in realm {:?}",
            user.user_name, user.id, user.realm_id
        )));
    }
    if let Some(external_id) = &user.external_id {
        let by_external = sqlx::query(
            "SELECT id, user_name FROM users WHERE tenant_id = $1 AND realm_id = $2 AND external_id = $3 AND id <> $4",
        )
        .bind(user.tenant_id.as_str())
        .bind(user.realm_id.as_str())
        .bind(external_id.as_str())
        .bind(user.id.as_str())
        .fetch_optional(tx.conn())
        .await?;
        if let Some(row) = by_external {
            let other: String = rows::get(&row, "id")?;
            let other_name: String = rows::get(&row, "user_name")?;
            return Err(StoreError::Conflict(format!(
                "external id {external_id:?} of user {} ({:?}) is already that of user {other} ({other_name:?}) in realm {:?}",
                user.id, user.user_name, user.realm_id
            )));
        }
    }
    Ok(())
}

/// The unique-violation message when a concurrent transaction won the race past [`check_unique`].
fn user_conflict(user: &UserRecord) -> String {
    format!(
        "user {} collides with another user of realm {:?} on its id, user name {:?} or external id {:?}",
        user.id, user.realm_id, user.user_name, user.external_id
    )
}

/// Inserts the user, or updates every field but its keys and creation time.
async fn save_user(tx: &mut WriteTx, user: &UserRecord) -> Result<()> {
    sqlx::query(concat!(
        "INSERT INTO users (",
        user_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (tenant_id, realm_id, id) DO UPDATE SET user_name = excluded.user_name, \
         external_id = excluded.external_id, email = excluded.email, display_name = excluded.display_name, \
         attributes = excluded.attributes, provider_groups = excluded.provider_groups, status = excluded.status, \
         organization = excluded.organization, rule_groups = excluded.rule_groups, \
         last_login_at = excluded.last_login_at, updated_at = excluded.updated_at"
    ))
    .bind(user.tenant_id.as_str())
    .bind(user.realm_id.as_str())
    .bind(user.id.as_str())
    .bind(user.user_name.as_str())
    .bind(user.external_id.as_deref())
    .bind(user.email.as_deref())
    .bind(user.display_name.as_deref())
    .bind(to_json(&user.attributes)?)
    .bind(to_json(&user.provider_groups)?)
    .bind(user.status.as_str())
    .bind(user.organization.as_deref())
    .bind(to_json(&user.rule_groups)?)
    .bind(user.last_login_at)
    .bind(user.created_at)
    .bind(user.updated_at)
    .execute(tx.conn())
    .await
    .map_err(|e| write_error(e, || user_conflict(user), || no_realm(&user.tenant_id, &user.realm_id).to_string()))?;
    Ok(())
}

/// Names of the fields that differ, ignoring login and update times (which change on every login).
fn changed_fields(before: &UserRecord, after: &UserRecord) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    check("user_name", before.user_name != after.user_name);
    check("external_id", before.external_id != after.external_id);
    check("email", before.email != after.email);
    check("display_name", before.display_name != after.display_name);
    check("attributes", before.attributes != after.attributes);
    check("provider_groups", before.provider_groups != after.provider_groups);
    check("status", before.status != after.status);
    check("organization", before.organization != after.organization);
    check("rule_groups", before.rule_groups != after.rule_groups);
    changed
}
