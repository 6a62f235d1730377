//! Tenants, their API keys, organizations and realms.

use serde_json::json;

use super::{
    Audit, Result, Store, StoreError,
    audit::{self, Event},
    model::{
        ApiKey, AutoRollback, FailurePolicy, KeyKind, MembershipSource, Millis, Organization, Realm, RealmLimits,
        Tenant,
    },
    no_realm, no_tenant,
    rows::{self, key_columns, realm_columns, tenant_columns},
    write_error,
};

impl Store {
    /// Creates a tenant (audited `tenant.created`); `Conflict` if the id is taken.
    pub async fn create_tenant(&self, tenant: &Tenant, audit: &Audit) -> Result<()> {
        check_retention(tenant.decision_retention_days)?;
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO tenants (id, name, decision_retention_days, created_at, audit_seq) VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(tenant.id.as_str())
        .bind(tenant.name.as_str())
        .bind(tenant.decision_retention_days)
        .bind(tenant.created_at)
        .execute(tx.conn())
        .await
        .map_err(|e| {
            write_error(e, || format!("tenant {:?} already exists", tenant.id), || no_tenant(&tenant.id).to_string())
        })?;
        let details = json!({ "name": tenant.name, "decision_retention_days": tenant.decision_retention_days });
        audit::append(tx.conn(), &tenant.id, audit, vec![Event::new("tenant.created", tenant.id.as_str(), details)])
            .await?;
        tx.commit().await
    }

    /// The tenant, if it exists.
    pub async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>> {
        sqlx::query(concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::tenant)
            .transpose()
    }

    /// Every tenant, by id.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let found = sqlx::query(concat!("SELECT ", tenant_columns!(), " FROM tenants ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows::all(&found, rows::tenant)
    }

    /// Sets how many days the tenant's decision records are kept (`None`: forever; audited
    /// `tenant.updated`). `NotFound` if there is no such tenant.
    pub async fn set_decision_retention(&self, tenant: &str, days: Option<i64>, audit: &Audit) -> Result<()> {
        check_retention(days)?;
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE tenants SET decision_retention_days = $1 WHERE id = $2")
            .bind(days)
            .bind(tenant)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(no_tenant(tenant));
        }
        let details = json!({ "decision_retention_days": days });
        audit::append(tx.conn(), tenant, audit, vec![Event::new("tenant.updated", tenant, details)]).await?;
        tx.commit().await
    }

    /// Stores a new API key of `key.tenant_id` (audited `key.created`; the details never include
    /// the secret's hash). `Conflict` if the key id is taken, `NotFound` if the tenant is missing.
    pub async fn insert_key(&self, key: &ApiKey, audit: &Audit) -> Result<()> {
        let mut tx = self.write().await?;
        tx.lock_tenant(&key.tenant_id).await?;
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, kind, label, secret_sha256, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key.id.as_str())
        .bind(key.tenant_id.as_str())
        .bind(key.kind.as_str())
        .bind(key.label.as_str())
        .bind(key.secret_sha256.as_str())
        .bind(key.created_at)
        .bind(key.revoked_at)
        .execute(tx.conn())
        .await
        .map_err(|e| {
            write_error(e, || format!("key {:?} already exists", key.id), || no_tenant(&key.tenant_id).to_string())
        })?;
        let details = json!({ "kind": key.kind.as_str(), "label": key.label, "revoked_at": key.revoked_at });
        audit::append(tx.conn(), &key.tenant_id, audit, vec![Event::new("key.created", key.id.as_str(), details)])
            .await?;
        tx.commit().await
    }

    /// The key with this id, whatever its tenant (for authentication: the caller must check the
    /// tenant and the revocation).
    pub async fn get_key(&self, id: &str) -> Result<Option<ApiKey>> {
        sqlx::query(concat!("SELECT ", key_columns!(), " FROM api_keys WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::api_key)
            .transpose()
    }

    /// The tenant's keys, oldest first (revoked ones included).
    pub async fn list_keys(&self, tenant: &str) -> Result<Vec<ApiKey>> {
        let found = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id"
        ))
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows::all(&found, rows::api_key)
    }

    /// Revokes the tenant's key (audited `key.revoked`). `NotFound` if the tenant has no such key;
    /// revoking a revoked key changes nothing and succeeds. `Conflict` if it is the tenant's last
    /// unrevoked admin key: no route issues an admin key to a tenant that has none, so revoking
    /// it would lock the tenant out for good.
    ///
    /// The check and the revocation are one transaction under the tenant's row lock, which every
    /// key write takes first: two concurrent revocations of a tenant's last two admin keys are
    /// serialised (on SQLite by the single writer), and the second sees the first's and is refused.
    pub async fn revoke_key(&self, tenant: &str, key_id: &str, audit: &Audit) -> Result<()> {
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        let found = sqlx::query("SELECT kind, revoked_at FROM api_keys WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(key_id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no key {key_id:?} in tenant {tenant:?}")))?;
        if rows::get::<Option<Millis>>(&found, "revoked_at")?.is_some() {
            return Ok(());
        }
        if rows::get::<String>(&found, "kind")? == KeyKind::Admin.as_str() {
            let others = sqlx::query(
                "SELECT COUNT(*) AS n FROM api_keys \
                 WHERE tenant_id = $1 AND kind = $2 AND revoked_at IS NULL AND id <> $3",
            )
            .bind(tenant)
            .bind(KeyKind::Admin.as_str())
            .bind(key_id)
            .fetch_one(tx.conn())
            .await?;
            if rows::get::<i64>(&others, "n")? == 0 {
                return Err(StoreError::Conflict(format!(
                    "key {key_id:?} is the tenant's last admin key: create another admin key first"
                )));
            }
        }
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(audit.at)
            .bind(tenant)
            .bind(key_id)
            .execute(tx.conn())
            .await?;
        audit::append(tx.conn(), tenant, audit, vec![Event::new("key.revoked", key_id, json!({}))]).await?;
        tx.commit().await
    }

    /// Creates or renames the tenant's organization (audited `organization.saved`). `NotFound` if
    /// the tenant is missing.
    pub async fn save_organization(&self, tenant: &str, organization: &Organization, audit: &Audit) -> Result<()> {
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        sqlx::query(
            "INSERT INTO organizations (tenant_id, id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name",
        )
        .bind(tenant)
        .bind(organization.id.as_str())
        .bind(organization.name.as_str())
        .execute(tx.conn())
        .await
        .map_err(|e| {
            write_error(
                e,
                || format!("organization {:?} already exists", organization.id),
                || no_tenant(tenant).to_string(),
            )
        })?;
        let details = json!({ "id": organization.id, "name": organization.name });
        let target = format!("organization/{}", organization.id);
        audit::append(tx.conn(), tenant, audit, vec![Event::new("organization.saved", target, details)]).await?;
        tx.commit().await
    }

    /// The tenant's organization, if it exists.
    pub async fn get_organization(&self, tenant: &str, id: &str) -> Result<Option<Organization>> {
        sqlx::query("SELECT id, name FROM organizations WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::organization)
            .transpose()
    }

    /// The tenant's organizations, by id.
    pub async fn list_organizations(&self, tenant: &str) -> Result<Vec<Organization>> {
        let found = sqlx::query("SELECT id, name FROM organizations WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant)
            .fetch_all(&self.pool)
            .await?;
        rows::all(&found, rows::organization)
    }

    /// Creates a realm of `realm.tenant_id` (audited `realm.created`), with no module active:
    /// the version fields must be `None` (modules are uploaded and activated afterwards).
    /// `Conflict` if the id is taken, `NotFound` if the tenant is missing.
    pub async fn create_realm(&self, realm: &Realm, audit: &Audit) -> Result<()> {
        let versions = [
            realm.user_rules_version,
            realm.group_rules_version,
            realm.shadow_user_rules_version,
            realm.shadow_group_rules_version,
        ];
        if versions.iter().any(Option::is_some) {
            return Err(StoreError::Invalid(
                "a new realm has no module versions: activate them after uploading".into(),
            ));
        }
        let mut tx = self.write().await?;
        tx.lock_tenant(&realm.tenant_id).await?;
        sqlx::query(
            "INSERT INTO realms (tenant_id, id, name, default_organization, create_organizations, failure_policy, \
             fallback_organization, auto_rollback_max_failure_rate, auto_rollback_min_evaluations, membership_source, \
             limit_fuel, limit_timeout_ms, limit_max_memory_bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $9 IS NULL THEN NULL ELSE $8 END, $9, $10, $11, $12, $13, $14)",
        )
        .bind(realm.tenant_id.as_str())
        .bind(realm.id.as_str())
        .bind(realm.name.as_str())
        .bind(realm.default_organization.as_deref())
        .bind(i64::from(realm.create_organizations))
        .bind(realm.failure_policy.name().as_str())
        .bind(realm.failure_policy.fallback_organization())
        .bind(bound_rate(realm.auto_rollback))
        .bind(realm.auto_rollback.map(|auto| i64::from(auto.min_evaluations)))
        .bind(realm.membership_source.as_str())
        .bind(stored(realm.limits.fuel)?)
        .bind(stored(realm.limits.timeout_ms)?)
        .bind(stored(realm.limits.max_memory_bytes)?)
        .bind(realm.created_at)
        .execute(tx.conn())
        .await
        .map_err(|e| {
            write_error(
                e,
                || format!("realm {:?} already exists in tenant {:?}", realm.id, realm.tenant_id),
                || no_tenant(&realm.tenant_id).to_string(),
            )
        })?;
        let details = json!({
            "id": realm.id, "name": realm.name, "default_organization": realm.default_organization,
            "create_organizations": realm.create_organizations, "failure_policy": realm.failure_policy,
            "auto_rollback": realm.auto_rollback, "membership_source": realm.membership_source,
            "limits": realm.limits,
        });
        let target = format!("realm/{}", realm.id);
        audit::append(tx.conn(), &realm.tenant_id, audit, vec![Event::new("realm.created", target, details)]).await?;
        tx.commit().await
    }

    /// The tenant's realm, if it exists.
    pub async fn get_realm(&self, tenant: &str, id: &str) -> Result<Option<Realm>> {
        sqlx::query(concat!("SELECT ", realm_columns!(), " FROM realms WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::realm)
            .transpose()
    }

    /// The tenant's realms, by id.
    pub async fn list_realms(&self, tenant: &str) -> Result<Vec<Realm>> {
        let found = sqlx::query(concat!("SELECT ", realm_columns!(), " FROM realms WHERE tenant_id = $1 ORDER BY id"))
            .bind(tenant)
            .fetch_all(&self.pool)
            .await?;
        rows::all(&found, rows::realm)
    }

    /// Changes the realm's settings that `change` names, in one transaction, audited as one
    /// `realm.updated` naming what changed (a change naming nothing writes nothing). `NotFound`
    /// if the tenant has no such realm. Whether an organization exists is the caller's check.
    pub async fn update_realm(&self, tenant: &str, realm: &str, change: &RealmChange, audit: &Audit) -> Result<()> {
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        let found = sqlx::query("SELECT 1 FROM realms WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(realm)
            .fetch_optional(tx.conn())
            .await?;
        if found.is_none() {
            return Err(no_realm(tenant, realm));
        }
        let mut details = serde_json::Map::new();
        if let Some(organization) = &change.default_organization {
            sqlx::query("UPDATE realms SET default_organization = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(organization.as_deref())
                .bind(tenant)
                .bind(realm)
                .execute(tx.conn())
                .await?;
            details.insert("default_organization".into(), json!(organization));
        }
        if let Some(create) = change.create_organizations {
            sqlx::query("UPDATE realms SET create_organizations = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(i64::from(create))
                .bind(tenant)
                .bind(realm)
                .execute(tx.conn())
                .await?;
            details.insert("create_organizations".into(), json!(create));
        }
        if let Some(policy) = &change.failure_policy {
            sqlx::query(
                "UPDATE realms SET failure_policy = $1, fallback_organization = $2 WHERE tenant_id = $3 AND id = $4",
            )
            .bind(policy.name().as_str())
            .bind(policy.fallback_organization())
            .bind(tenant)
            .bind(realm)
            .execute(tx.conn())
            .await?;
            details.insert("failure_policy".into(), json!(policy));
        }
        if let Some(auto) = &change.auto_rollback {
            sqlx::query(
                "UPDATE realms SET auto_rollback_max_failure_rate = CASE WHEN $2 IS NULL THEN NULL ELSE $1 END, \
                 auto_rollback_min_evaluations = $2 WHERE tenant_id = $3 AND id = $4",
            )
            .bind(bound_rate(*auto))
            .bind(auto.map(|auto| i64::from(auto.min_evaluations)))
            .bind(tenant)
            .bind(realm)
            .execute(tx.conn())
            .await?;
            details.insert("auto_rollback".into(), json!(auto));
        }
        if let Some(source) = change.membership_source {
            sqlx::query("UPDATE realms SET membership_source = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(source.as_str())
                .bind(tenant)
                .bind(realm)
                .execute(tx.conn())
                .await?;
            details.insert("membership_source".into(), json!(source));
        }
        if let Some(limits) = &change.limits {
            sqlx::query(
                "UPDATE realms SET limit_fuel = $1, limit_timeout_ms = $2, limit_max_memory_bytes = $3 \
                 WHERE tenant_id = $4 AND id = $5",
            )
            .bind(stored(limits.fuel)?)
            .bind(stored(limits.timeout_ms)?)
            .bind(stored(limits.max_memory_bytes)?)
            .bind(tenant)
            .bind(realm)
            .execute(tx.conn())
            .await?;
            details.insert("limits".into(), json!(limits));
        }
        if details.is_empty() {
            return Ok(());
        }
        let event = Event::new("realm.updated", format!("realm/{realm}"), details.into());
        audit::append(tx.conn(), tenant, audit, vec![event]).await?;
        tx.commit().await
    }
}

/// What [`Store::update_realm`] changes: each field given is set, each left `None` stays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RealmChange {
    /// The default organization: `Some(None)` clears it.
    pub default_organization: Option<Option<String>>,
    /// Whether the realm's decisions create the organizations they name that the tenant does
    /// not have.
    pub create_organizations: Option<bool>,
    /// What the realm's live decisions whose rules failed become.
    pub failure_policy: Option<FailurePolicy>,
    /// When the realm rolls a failing active version back by itself: `Some(None)` turns it off.
    pub auto_rollback: Option<Option<AutoRollback>>,
    /// Whose word on users' provider groups counts when claims and SCIM disagree.
    pub membership_source: Option<MembershipSource>,
    /// The realm's own bounds of each evaluation, replaced whole.
    pub limits: Option<RealmLimits>,
}

/// A realm limit as stored: `Invalid` past what a column holds.
fn stored(limit: Option<u64>) -> Result<Option<i64>> {
    limit
        .map(|value| {
            i64::try_from(value).map_err(|_| StoreError::Invalid(format!("a realm limit of {value} is too large")))
        })
        .transpose()
}

/// The rate of `auto_rollback` to bind, never `NULL` (0 when off; the SQL stores `NULL` when the
/// count is `NULL`): sqlx's `Any` driver binds a `NULL` `f64` as a PostgreSQL `float4`, so a
/// statement first prepared with a `NULL` rate would refuse every later one.
fn bound_rate(auto: Option<AutoRollback>) -> f64 {
    auto.map_or(0.0, |auto| auto.max_failure_rate)
}

/// A retention of at least one day, or none.
fn check_retention(days: Option<i64>) -> Result<()> {
    match days {
        Some(days) if days < 1 => {
            Err(StoreError::Invalid(format!("decision retention must be at least 1 day, not {days}")))
        }
        _ => Ok(()),
    }
}
