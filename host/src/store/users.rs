//! Users, provider groups, and applying a decision to them in one transaction; the user-row
//! helpers (locking, the user-name key, provider-group list writes) the other user writes share.

use serde_json::json;

use super::{
    Audit, Result, Store, StoreError, WriteTx,
    audit::{self, AuditNote, Event},
    decisions,
    model::{DecisionRecord, Millis, ProviderGroupMark, Session, UserRecord, UserStatus},
    no_realm,
    rows::{self, to_json, user_columns},
    sessions, write_error,
};

/// Everything one applied decision writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyDecision {
    /// The user's full new state: inserted if the id is new in the realm, else replaces the stored
    /// record (whose `created_at` is kept). Its `version` and `deactivated_at` are the store's.
    pub user: UserRecord,
    /// Provider groups and their new marks, upserted per (tenant, realm, name).
    pub provider_groups: Vec<ProviderGroupMark>,
    /// The decision record; must be for this user, applied, not shadow.
    pub decision: DecisionRecord,
    /// A session to record for the user (a login); must be the user's.
    pub session: Option<Session>,
    /// The version the stored user must be at (SCIM `If-Match`, or the version the caller read):
    /// [`StoreError::VersionMismatch`] if it is at another, `NotFound` if there is no stored user.
    /// Required to reactivate a deactivated user.
    pub expected_version: Option<i64>,
    /// More audit events to append in the same transaction, after the store's user events and
    /// before `decision.applied` (e.g. `scim.user.updated`).
    pub extra_events: Vec<AuditNote>,
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

    /// The realm's user with this user name, ignoring case, if any.
    pub async fn find_user_by_name(&self, tenant: &str, realm: &str, user_name: &str) -> Result<Option<UserRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND user_name_key = $3"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(user_name_key(user_name))
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

    /// How many users the realm has (deactivated ones included).
    pub async fn count_users(&self, tenant: &str, realm: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE tenant_id = $1 AND realm_id = $2")
            .bind(tenant)
            .bind(realm)
            .fetch_one(&self.pool)
            .await?;
        rows::get(&row, "n")
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

    /// Writes new attributes of a deactivated user, which stays deactivated, without a decision (no
    /// rules run for a deactivated user): one version up, audited `user.updated` (if a stored field
    /// changed) and the caller's `extra_events`, in one transaction. Returns the user as stored.
    ///
    /// [`StoreError::VersionMismatch`] if the stored user is not at `expected_version`; `Conflict`
    /// if it is active (reactivated meanwhile), or its new user name (ignoring case) or external id
    /// is another user's; `NotFound` if the realm has no such user; `Invalid` if `user` is not
    /// deactivated, or has an organization or rule-based groups.
    pub async fn update_deactivated_user(
        &self,
        user: &UserRecord,
        expected_version: i64,
        extra_events: Vec<AuditNote>,
        audit: &Audit,
    ) -> Result<UserRecord> {
        if user.status != UserStatus::Deactivated || user.organization.is_some() || !user.rule_groups.is_empty() {
            return Err(StoreError::Invalid(format!(
                "user {} must be deactivated, with no organization and no rule-based groups",
                user.id
            )));
        }
        let (tenant, realm) = (user.tenant_id.as_str(), user.realm_id.as_str());
        let mut tx = self.write().await?;
        let stored =
            lock_user(&mut tx, tenant, realm, &user.id).await?.ok_or_else(|| no_user(tenant, realm, &user.id))?;
        if stored.version != expected_version {
            return Err(StoreError::VersionMismatch {
                what: format!("user {}", user.id),
                expected: expected_version,
                actual: stored.version,
            });
        }
        if stored.status != UserStatus::Deactivated {
            return Err(StoreError::Conflict(format!(
                "user {} is active: it is not updated as a deactivated user",
                user.id
            )));
        }
        let mut user = user.clone();
        let mut events = write_user(&mut tx, &mut user, Some(&stored), audit).await?;
        events.extend(extra_events.into_iter().map(Event::from));
        audit::append(tx.conn(), tenant, audit, events).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Applies a decision in one transaction: writes the user (inserted at version 1, or replacing
    /// the stored record one version up), upserts the provider groups' marks, records the session,
    /// stores the decision record, and appends `user.created` (new user) or `user.updated` (stored
    /// fields other than login and update times changed), `user.reactivated` (deactivated → active),
    /// the caller's extra events and `decision.applied`. All or nothing.
    ///
    /// Status: a new user may be created deactivated (SCIM `active: false`); a deactivated user may
    /// be updated as such, or reactivated (its `deactivated_at` cleared; its suspended SCIM group
    /// memberships count again) but only with `expected_version`, so that a write based on a read
    /// from before the deactivation (a concurrent login) cannot undo it: without one it is a
    /// `Conflict`. An active user is deactivated only through [`Store::deactivate_user`].
    ///
    /// `Conflict` naming both users if the user name (ignoring case) or external id belongs to
    /// another user of the realm, or if the decision or session id is taken;
    /// [`StoreError::VersionMismatch`] if `expected_version` is not the stored version; `NotFound` if
    /// the realm is missing, or `expected_version` is given for a user not stored; `Invalid` if the
    /// user, the decision and the session disagree on tenant, realm or user, the decision is not an
    /// applied, non-shadow one, an active user would be deactivated, or a deactivated user would
    /// have an organization, rule-based groups or a new session.
    pub async fn apply_decision(&self, apply: ApplyDecision, audit: &Audit) -> Result<()> {
        let ApplyDecision { mut user, provider_groups, decision, session, expected_version, extra_events } = apply;
        check_consistent(&user, &decision, session.as_ref())?;
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
        let stored = lock_user(&mut tx, &tenant, &realm, &user.id).await?;
        check_transition(stored.as_ref(), &user, expected_version)?;
        let mut events = write_user(&mut tx, &mut user, stored.as_ref(), audit).await?;
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
        if let Some(session) = &session {
            sessions::insert(tx.conn(), session).await?;
        }
        decisions::insert(tx.conn(), &decision).await?;
        let details = json!({
            "decision_id": decision.id, "realm_id": realm, "user_id": user.id, "trigger": decision.trigger,
            "organization": user.organization, "rule_groups": user.rule_groups,
            "provider_groups": groups.iter().map(|g| json!({ "name": g.name, "organizations": g.organizations })).collect::<Vec<_>>(),
            "user_rules_version": decision.user_rules_version, "group_rules_version": decision.group_rules_version,
        });
        events.extend(extra_events.into_iter().map(Event::from));
        events.push(Event::new("decision.applied", user.id.as_str(), details));
        // Last: the audit-sequence bump locks the tenant's row until commit.
        audit::append(tx.conn(), &tenant, audit, events).await?;
        tx.commit().await
    }
}

/// The user, the decision and the session must agree, the decision must be an applied one, and a
/// deactivated user has no organization, rule-based group or new session.
fn check_consistent(user: &UserRecord, decision: &DecisionRecord, session: Option<&Session>) -> Result<()> {
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
    if let Some(session) = session
        && (session.tenant_id != user.tenant_id || session.realm_id != user.realm_id || session.user_id != user.id)
    {
        return Err(StoreError::Invalid(format!("the session is not one of user {}", user.id)));
    }
    if user.status == UserStatus::Deactivated
        && (user.organization.is_some() || !user.rule_groups.is_empty() || session.is_some())
    {
        return Err(StoreError::Invalid(format!(
            "deactivated user {} cannot have an organization, rule-based groups or a new session",
            user.id
        )));
    }
    Ok(())
}

/// The expected version must be the stored one; an active user is deactivated only by
/// `deactivate_user`; reactivating needs the expected version.
fn check_transition(stored: Option<&UserRecord>, user: &UserRecord, expected_version: Option<i64>) -> Result<()> {
    let Some(stored) = stored else {
        return match expected_version {
            Some(_) => Err(no_user(&user.tenant_id, &user.realm_id, &user.id)),
            None => Ok(()),
        };
    };
    if let Some(expected) = expected_version
        && expected != stored.version
    {
        return Err(StoreError::VersionMismatch {
            what: format!("user {}", user.id),
            expected,
            actual: stored.version,
        });
    }
    match (stored.status, user.status) {
        (UserStatus::Active, UserStatus::Deactivated) => Err(StoreError::Invalid(format!(
            "user {} is active: deactivate it with deactivate_user (which revokes its sessions)",
            user.id
        ))),
        (UserStatus::Deactivated, UserStatus::Active) if expected_version.is_none() => Err(StoreError::Conflict(
            format!("user {} is deactivated: reactivating it needs the version of the deactivated record", user.id),
        )),
        _ => Ok(()),
    }
}

/// Writes `user` (the caller's checks done), over `stored` if there is one: the store's version,
/// `deactivated_at` and creation time go into `user`. Returns the user events to audit:
/// `user.created`, or `user.updated` (if a stored field changed) and `user.reactivated`.
async fn write_user(
    tx: &mut WriteTx,
    user: &mut UserRecord,
    stored: Option<&UserRecord>,
    audit: &Audit,
) -> Result<Vec<Event>> {
    user.version = stored.map_or(1, |stored| stored.version + 1);
    user.deactivated_at = match user.status {
        UserStatus::Active => None,
        UserStatus::Deactivated => Some(stored.and_then(|stored| stored.deactivated_at).unwrap_or(audit.at)),
    };
    if let Some(stored) = stored {
        user.created_at = stored.created_at;
    }
    check_unique(tx, user).await?;
    save_user(tx, user).await?;
    let realm = user.realm_id.as_str();
    let mut events = Vec::new();
    match stored {
        None => {
            let details = json!({
                "realm_id": realm, "user_name": user.user_name, "external_id": user.external_id,
                "status": user.status.as_str(), "organization": user.organization,
            });
            events.push(Event::new("user.created", user.id.as_str(), details));
        }
        Some(stored) => {
            let changed = changed_fields(stored, user);
            if !changed.is_empty() {
                let details = json!({
                    "realm_id": realm, "changed": changed, "status": user.status.as_str(),
                    "organization": user.organization,
                });
                events.push(Event::new("user.updated", user.id.as_str(), details));
            }
            if stored.status == UserStatus::Deactivated && user.status == UserStatus::Active {
                let details = json!({ "realm_id": realm, "deactivated_at": stored.deactivated_at });
                events.push(Event::new("user.reactivated", user.id.as_str(), details));
            }
        }
    }
    Ok(events)
}

/// `Conflict` if another user of the realm has the user's name (ignoring case) or external id.
async fn check_unique(tx: &mut WriteTx, user: &UserRecord) -> Result<()> {
    let by_name = sqlx::query(
        "SELECT id, user_name FROM users WHERE tenant_id = $1 AND realm_id = $2 AND user_name_key = $3 AND id <> $4",
    )
    .bind(user.tenant_id.as_str())
    .bind(user.realm_id.as_str())
    .bind(user_name_key(&user.user_name))
    .bind(user.id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    if let Some(row) = by_name {
        let other: String = rows::get(&row, "id")?;
        let other_name: String = rows::get(&row, "user_name")?;
        return Err(StoreError::Conflict(format!(
            "user name {:?} of user {} is already taken by user {other} ({other_name:?}) in realm {:?}",
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
        ", user_name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
         ON CONFLICT (tenant_id, realm_id, id) DO UPDATE SET user_name = excluded.user_name, \
         external_id = excluded.external_id, email = excluded.email, display_name = excluded.display_name, \
         attributes = excluded.attributes, provider_groups = excluded.provider_groups, status = excluded.status, \
         organization = excluded.organization, rule_groups = excluded.rule_groups, \
         last_login_at = excluded.last_login_at, updated_at = excluded.updated_at, scim = excluded.scim, \
         version = excluded.version, deactivated_at = excluded.deactivated_at, user_name_key = excluded.user_name_key"
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
    .bind(user.scim.as_ref().map(to_json).transpose()?)
    .bind(user.version)
    .bind(user.deactivated_at)
    .bind(user_name_key(&user.user_name))
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
    check("scim", before.scim != after.scim);
    changed
}

/// The key a user name is unique by, ignoring case.
pub(super) fn user_name_key(user_name: &str) -> String {
    user_name.to_lowercase()
}

/// `NotFound` for a missing user.
pub(super) fn no_user(tenant: &str, realm: &str, id: &str) -> StoreError {
    StoreError::NotFound(format!("no user {id:?} in realm {realm:?} of tenant {tenant:?}"))
}

/// The stored user, its row locked until commit (PostgreSQL; SQLite has one writer).
pub(super) async fn lock_user(tx: &mut WriteTx, tenant: &str, realm: &str, id: &str) -> Result<Option<UserRecord>> {
    let sql = tx.pick(
        concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id = $3 FOR NO KEY UPDATE"
        ),
        concat!("SELECT ", user_columns!(), " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id = $3"),
    );
    sqlx::query(sql)
        .bind(tenant)
        .bind(realm)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .as_ref()
        .map(rows::user)
        .transpose()
}

/// Replaces a (locked) user's provider-group list, one version up.
pub(super) async fn write_provider_groups(
    tx: &mut WriteTx,
    user: &UserRecord,
    provider_groups: &[String],
    at: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET provider_groups = $1, version = version + 1, updated_at = $2 \
         WHERE tenant_id = $3 AND realm_id = $4 AND id = $5",
    )
    .bind(to_json(provider_groups)?)
    .bind(at)
    .bind(user.tenant_id.as_str())
    .bind(user.realm_id.as_str())
    .bind(user.id.as_str())
    .execute(tx.conn())
    .await?;
    Ok(())
}
