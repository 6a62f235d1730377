//! Rule-module versions, their bytes (stored once per digest), activation, rollback and shadow.
//!
//! Activation history is a persistent stack per (realm, kind): each `module_activations` row
//! records the version that became active and `back_seq`, the row whose state a rollback returns
//! to. Activating pushes (back = the current row); rolling back re-activates the version of the
//! current row's `back_seq` row and inherits its `back_seq`. So v1, v2, v3 then rollback, rollback
//! gives v2 then v1, and a third rollback has nothing to return to.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    Audit, Result, Store, StoreError, WriteTx,
    audit::{self, Event},
    model::{AutoRollback, Millis, ModuleVersion, RuleKind},
    no_realm,
    quotas::{self, ModuleQuotas},
    rows::{self, module_columns},
};

/// A realm's active version that failed too often on live decisions, with the evidence: what
/// [`Store::rollback_failing`] rolls back.
#[derive(Debug, Clone, PartialEq)]
pub struct FailingVersion {
    /// User or group rules.
    pub kind: RuleKind,
    /// The version that failed (rolled back only if still active).
    pub version: i64,
    /// Live evaluations of it in the window.
    pub evaluations: u64,
    /// How many of them failed.
    pub failures: u64,
    /// The realm's setting that judged them.
    pub setting: AutoRollback,
}

impl FailingVersion {
    /// The audit details: realm, kind, the version, the counts, the rate and the setting.
    fn details(&self, realm: &str) -> serde_json::Map<String, serde_json::Value> {
        let rate = if self.evaluations == 0 { 0.0 } else { self.failures as f64 / self.evaluations as f64 };
        let details = [
            ("realm_id", json!(realm)),
            ("kind", json!(self.kind.as_str())),
            ("from", json!(self.version)),
            ("evaluations", json!(self.evaluations)),
            ("failures", json!(self.failures)),
            ("rate", json!(rate)),
            ("max_failure_rate", json!(self.setting.max_failure_rate)),
            ("min_evaluations", json!(self.setting.min_evaluations)),
        ];
        details.into_iter().map(|(key, value)| (key.to_owned(), value)).collect()
    }
}

/// What [`Store::rollback_failing`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutomaticRollback {
    /// The failing version was rolled back: `to` is active now.
    RolledBack {
        /// The version now active.
        to: i64,
    },
    /// The failing version is no longer active (`active` is): nothing done, nothing audited.
    NoLongerActive {
        /// The version active now.
        active: Option<i64>,
    },
    /// The activation history has no earlier version: nothing changed, and that is audited.
    NothingToRollBackTo {
        /// Why, as the admin rollback would say it.
        reason: String,
    },
}

/// A module version to store; the store assigns its version number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewModuleVersion {
    /// The tenant.
    pub tenant_id: String,
    /// The realm.
    pub realm_id: String,
    /// User or group rules.
    pub kind: RuleKind,
    /// Lower-case hex SHA-256 of `wasm` (checked).
    pub digest: String,
    /// The module's bytes.
    pub wasm: Vec<u8>,
    /// The settings document as uploaded (JSON text).
    pub settings: String,
    /// The settings as the module prepared them.
    pub prepared_settings: Vec<u8>,
    /// The JSON Schema the module publishes of its settings (JSON text), if it publishes one.
    pub settings_schema: Option<String>,
    /// The uploader's note.
    pub note: String,
    /// Id of the key that uploaded it.
    pub created_by: String,
    /// When it was uploaded.
    pub created_at: Millis,
}

/// The audit target of a version.
fn target(realm: &str, kind: RuleKind, version: i64) -> String {
    format!("realm/{realm}/{}/{version}", kind.as_str())
}

/// One row of the activation history.
struct Activation {
    seq: i64,
    version: i64,
    back_seq: Option<i64>,
}

impl Store {
    /// Stores a new version of the realm's `kind` module, numbered one past the highest so far
    /// (concurrent uploads get distinct numbers), with its bytes stored once per (tenant, digest);
    /// audited `module.uploaded`. `NotFound` if the tenant or realm is missing, `Invalid` if the
    /// digest is not the bytes' SHA-256. No quota applies (the operator's own setup, such as
    /// the demo); tenants' uploads go through [`Store::insert_module_version_within`].
    pub async fn insert_module_version(&self, new: NewModuleVersion, audit: &Audit) -> Result<ModuleVersion> {
        self.insert_module_version_within(new, &ModuleQuotas::UNLIMITED, audit).await
    }

    /// [`Store::insert_module_version`], refused with `QuotaExceeded` (and nothing stored) if
    /// the version would take its realm or tenant past one of `quotas`.
    pub async fn insert_module_version_within(
        &self,
        new: NewModuleVersion,
        quotas: &ModuleQuotas,
        audit: &Audit,
    ) -> Result<ModuleVersion> {
        let actual = hex::encode(Sha256::digest(&new.wasm));
        if actual != new.digest {
            return Err(StoreError::Invalid(format!(
                "digest {} is not the SHA-256 of the module ({actual})",
                new.digest
            )));
        }
        let size = i64::try_from(new.wasm.len()).map_err(|_| StoreError::Invalid("module too large".into()))?;
        let (tenant, realm, kind) = (new.tenant_id.as_str(), new.realm_id.as_str(), new.kind);
        let mut tx = self.write().await?;
        // Serialises the tenant's uploads, so the version numbering below cannot race.
        tx.lock_tenant(tenant).await?;
        realm_versions(&mut tx, tenant, realm, kind).await?;
        let upload = quotas::Upload { tenant, realm, digest: &new.digest, size, at: new.created_at };
        quotas::check(&mut tx, quotas, &upload).await?;
        sqlx::query(
            "INSERT INTO module_blobs (tenant_id, digest, size, wasm, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, digest) DO NOTHING",
        )
        .bind(tenant)
        .bind(new.digest.as_str())
        .bind(size)
        .bind(new.wasm.as_slice())
        .bind(new.created_at)
        .execute(tx.conn())
        .await?;
        let row = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) AS latest FROM module_versions \
             WHERE tenant_id = $1 AND realm_id = $2 AND kind = $3",
        )
        .bind(tenant)
        .bind(realm)
        .bind(kind.as_str())
        .fetch_one(tx.conn())
        .await?;
        let version = rows::get::<i64>(&row, "latest")? + 1;
        let stored = ModuleVersion {
            tenant_id: new.tenant_id.clone(),
            realm_id: new.realm_id.clone(),
            kind,
            version,
            digest: new.digest,
            size,
            settings: new.settings,
            prepared_settings: new.prepared_settings,
            settings_schema: new.settings_schema,
            note: new.note,
            created_by: new.created_by,
            created_at: new.created_at,
        };
        sqlx::query(concat!(
            "INSERT INTO module_versions (",
            module_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(kind.as_str())
        .bind(version)
        .bind(stored.digest.as_str())
        .bind(size)
        .bind(stored.settings.as_str())
        .bind(stored.prepared_settings.as_slice())
        .bind(stored.note.as_str())
        .bind(stored.created_by.as_str())
        .bind(stored.created_at)
        .bind(stored.settings_schema.as_deref())
        .execute(tx.conn())
        .await
        .map_err(|e| {
            super::write_error(
                e,
                || format!("{} rules version {version} of realm {realm:?} already exists", kind.as_str()),
                || no_realm(tenant, realm).to_string(),
            )
        })?;
        let details = json!({
            "realm_id": realm, "kind": kind.as_str(), "version": version, "digest": stored.digest,
            "size": size, "note": stored.note, "created_by": stored.created_by,
        });
        audit::append(
            tx.conn(),
            tenant,
            audit,
            vec![Event::new("module.uploaded", target(realm, kind, version), details)],
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// One version of the realm's `kind` module, if it exists.
    pub async fn get_module_version(
        &self,
        tenant: &str,
        realm: &str,
        kind: RuleKind,
        version: i64,
    ) -> Result<Option<ModuleVersion>> {
        sqlx::query(concat!(
            "SELECT ",
            module_columns!(),
            " FROM module_versions WHERE tenant_id = $1 AND realm_id = $2 AND kind = $3 AND version = $4"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(kind.as_str())
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::module_version)
        .transpose()
    }

    /// Every version of the realm's `kind` module, ascending.
    pub async fn list_module_versions(&self, tenant: &str, realm: &str, kind: RuleKind) -> Result<Vec<ModuleVersion>> {
        let found = sqlx::query(concat!(
            "SELECT ",
            module_columns!(),
            " FROM module_versions WHERE tenant_id = $1 AND realm_id = $2 AND kind = $3 ORDER BY version"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows::all(&found, rows::module_version)
    }

    /// The bytes of the tenant's module with this digest, if stored.
    pub async fn module_wasm(&self, tenant: &str, digest: &str) -> Result<Option<Vec<u8>>> {
        match sqlx::query("SELECT wasm FROM module_blobs WHERE tenant_id = $1 AND digest = $2")
            .bind(tenant)
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?
        {
            Some(row) => Ok(Some(rows::get(&row, "wasm")?)),
            None => Ok(None),
        }
    }

    /// Makes `version` the realm's active `kind` module, returning the version active before
    /// (audited `module.activated`, recorded in the activation history). `NotFound` if the realm
    /// or the version does not exist. Activating the active version changes nothing.
    pub async fn activate(
        &self,
        tenant: &str,
        realm: &str,
        kind: RuleKind,
        version: i64,
        audit: &Audit,
    ) -> Result<Option<i64>> {
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        let (current, _) = realm_versions(&mut tx, tenant, realm, kind).await?;
        require_version(&mut tx, tenant, realm, kind, version).await?;
        if current == Some(version) {
            return Ok(current);
        }
        let top = top_activation(&mut tx, tenant, realm, kind).await?;
        let back_seq = if current.is_some() { top.as_ref().map(|row| row.seq) } else { None };
        let seq = top.map_or(1, |row| row.seq + 1);
        record_activation(&mut tx, tenant, realm, kind, Activation { seq, version, back_seq }, "activate", audit)
            .await?;
        set_active(&mut tx, tenant, realm, kind, version).await?;
        let details = json!({ "realm_id": realm, "kind": kind.as_str(), "version": version, "previous": current });
        audit::append(
            tx.conn(),
            tenant,
            audit,
            vec![Event::new("module.activated", target(realm, kind, version), details)],
        )
        .await?;
        tx.commit().await?;
        Ok(current)
    }

    /// Re-activates the version that was active before the current one, per the activation
    /// history, returning `(previously active, now active)` (audited `module.rolled_back`).
    /// `Conflict("nothing to roll back to …")` when the history has no earlier version, `NotFound`
    /// if the realm does not exist.
    pub async fn rollback(
        &self,
        tenant: &str,
        realm: &str,
        kind: RuleKind,
        audit: &Audit,
    ) -> Result<(Option<i64>, i64)> {
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        let (current, _) = realm_versions(&mut tx, tenant, realm, kind).await?;
        let to = roll_back(&mut tx, tenant, realm, kind, current, audit).await??;
        let details = json!({ "realm_id": realm, "kind": kind.as_str(), "from": current, "to": to });
        let event = Event::new("module.rolled_back", target(realm, kind, to), details);
        audit::append(tx.conn(), tenant, audit, vec![event]).await?;
        tx.commit().await?;
        Ok((current, to))
    }

    /// Rolls the realm's active `failing.kind` module back exactly as [`Store::rollback`] does,
    /// because it failed too often on live decisions, if `failing.version` is still the active
    /// version (otherwise nothing is done: it was rolled back or replaced meanwhile). Audited
    /// `module.rolled_back_automatically` with the evidence, or, when the history has nothing to
    /// roll back to, `module.automatic_rollback_impossible` with the reason (and nothing else
    /// changes). `NotFound` if the realm does not exist.
    pub async fn rollback_failing(
        &self,
        tenant: &str,
        realm: &str,
        failing: &FailingVersion,
        audit: &Audit,
    ) -> Result<AutomaticRollback> {
        let kind = failing.kind;
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        let (current, _) = realm_versions(&mut tx, tenant, realm, kind).await?;
        if current != Some(failing.version) {
            return Ok(AutomaticRollback::NoLongerActive { active: current });
        }
        let mut details = failing.details(realm);
        let (outcome, event) = match roll_back(&mut tx, tenant, realm, kind, current, audit).await? {
            Ok(to) => {
                details.insert("to".into(), json!(to));
                let event = Event::new("module.rolled_back_automatically", target(realm, kind, to), details.into());
                (AutomaticRollback::RolledBack { to }, event)
            }
            Err(refused) => {
                details.insert("reason".into(), json!(refused.to_string()));
                let event = Event::new(
                    "module.automatic_rollback_impossible",
                    target(realm, kind, failing.version),
                    details.into(),
                );
                (AutomaticRollback::NothingToRollBackTo { reason: refused.to_string() }, event)
            }
        };
        audit::append(tx.conn(), tenant, audit, vec![event]).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Sets (or clears, with `None`) the version of the realm's `kind` module that runs in shadow
    /// beside the active one (audited `module.shadow_set`). `NotFound` if the realm or the version
    /// does not exist. Setting the current shadow again changes nothing.
    pub async fn set_shadow(
        &self,
        tenant: &str,
        realm: &str,
        kind: RuleKind,
        version: Option<i64>,
        audit: &Audit,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        let (_, previous) = realm_versions(&mut tx, tenant, realm, kind).await?;
        if let Some(version) = version {
            require_version(&mut tx, tenant, realm, kind, version).await?;
        }
        if previous == version {
            return Ok(());
        }
        let sql = match kind {
            RuleKind::User => "UPDATE realms SET shadow_user_rules_version = $1 WHERE tenant_id = $2 AND id = $3",
            RuleKind::Group => "UPDATE realms SET shadow_group_rules_version = $1 WHERE tenant_id = $2 AND id = $3",
        };
        sqlx::query(sql).bind(version).bind(tenant).bind(realm).execute(tx.conn()).await?;
        let details = json!({ "realm_id": realm, "kind": kind.as_str(), "version": version, "previous": previous });
        let target = match version {
            Some(version) => target(realm, kind, version),
            None => format!("realm/{realm}/{}", kind.as_str()),
        };
        audit::append(tx.conn(), tenant, audit, vec![Event::new("module.shadow_set", target, details)]).await?;
        tx.commit().await
    }
}

/// Re-activates, in `tx`, the version of `kind` that was active before `current` per the
/// activation history, recording the rollback in it, and returns the version now active; the
/// inner error is the `Conflict` of a history with nothing to roll back to (nothing written).
/// The one rollback: [`Store::rollback`] and [`Store::rollback_failing`] audit it each their way.
async fn roll_back(
    tx: &mut WriteTx,
    tenant: &str,
    realm: &str,
    kind: RuleKind,
    current: Option<i64>,
    audit: &Audit,
) -> Result<Result<i64>> {
    let Some(top) = top_activation(tx, tenant, realm, kind).await? else {
        return Ok(Err(nothing_to_roll_back(tx, tenant, realm, kind, current, None).await?));
    };
    let Some(back_seq) = top.back_seq else {
        return Ok(Err(nothing_to_roll_back(tx, tenant, realm, kind, current, Some(&top)).await?));
    };
    let back = activation(tx, tenant, realm, kind, back_seq)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("activation history of realm {realm:?} lacks entry {back_seq}")))?;
    let to = back.version;
    let row = Activation { seq: top.seq + 1, version: to, back_seq: back.back_seq };
    record_activation(tx, tenant, realm, kind, row, "rollback", audit).await?;
    set_active(tx, tenant, realm, kind, to).await?;
    Ok(Ok(to))
}

/// The realm's active and shadow versions of `kind`; `NotFound` if the realm is missing.
async fn realm_versions(
    tx: &mut WriteTx,
    tenant: &str,
    realm: &str,
    kind: RuleKind,
) -> Result<(Option<i64>, Option<i64>)> {
    let sql = match kind {
        RuleKind::User => {
            "SELECT user_rules_version AS active, shadow_user_rules_version AS shadow FROM realms WHERE tenant_id = $1 AND id = $2"
        }
        RuleKind::Group => {
            "SELECT group_rules_version AS active, shadow_group_rules_version AS shadow FROM realms WHERE tenant_id = $1 AND id = $2"
        }
    };
    let row = sqlx::query(sql)
        .bind(tenant)
        .bind(realm)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| no_realm(tenant, realm))?;
    Ok((rows::get(&row, "active")?, rows::get(&row, "shadow")?))
}

/// `NotFound` unless the version exists.
async fn require_version(tx: &mut WriteTx, tenant: &str, realm: &str, kind: RuleKind, version: i64) -> Result<()> {
    let found = sqlx::query(
        "SELECT version FROM module_versions WHERE tenant_id = $1 AND realm_id = $2 AND kind = $3 AND version = $4",
    )
    .bind(tenant)
    .bind(realm)
    .bind(kind.as_str())
    .bind(version)
    .fetch_optional(tx.conn())
    .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("no {} rules version {version} in realm {realm:?}", kind.as_str()))),
    }
}

/// Points the realm's active `kind` version at `version`.
async fn set_active(tx: &mut WriteTx, tenant: &str, realm: &str, kind: RuleKind, version: i64) -> Result<()> {
    let sql = match kind {
        RuleKind::User => "UPDATE realms SET user_rules_version = $1 WHERE tenant_id = $2 AND id = $3",
        RuleKind::Group => "UPDATE realms SET group_rules_version = $1 WHERE tenant_id = $2 AND id = $3",
    };
    sqlx::query(sql).bind(version).bind(tenant).bind(realm).execute(tx.conn()).await?;
    Ok(())
}

/// The latest row of the activation history.
async fn top_activation(tx: &mut WriteTx, tenant: &str, realm: &str, kind: RuleKind) -> Result<Option<Activation>> {
    let row = sqlx::query(
        "SELECT seq, version, back_seq FROM module_activations WHERE tenant_id = $1 AND realm_id = $2 AND kind = $3 \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(tenant)
    .bind(realm)
    .bind(kind.as_str())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(decode_activation).transpose()
}

/// The `Conflict` of a rollback with no earlier activation to return to, saying what is active,
/// how it became so and, after a rollback, how to go forward again.
async fn nothing_to_roll_back(
    tx: &mut WriteTx,
    tenant: &str,
    realm: &str,
    kind: RuleKind,
    current: Option<i64>,
    top: Option<&Activation>,
) -> Result<StoreError> {
    let name = kind.as_str();
    let (Some(current), Some(top)) = (current, top) else {
        return Ok(StoreError::Conflict(format!(
            "nothing to roll back to: no {name} rules version has been activated in realm {realm:?}"
        )));
    };
    let row = sqlx::query(
        "SELECT action FROM module_activations WHERE tenant_id = $1 AND realm_id = $2 AND kind = $3 AND seq = $4",
    )
    .bind(tenant)
    .bind(realm)
    .bind(name)
    .bind(top.seq)
    .fetch_one(tx.conn())
    .await?;
    let action: String = rows::get(&row, "action")?;
    let rolled_back_from = match action.as_str() {
        "rollback" => activation(tx, tenant, realm, kind, top.seq - 1).await?.map(|row| row.version),
        _ => None,
    };
    let how = rolled_back_from.map_or_else(String::new, |from| {
        format!(
            "; it became active by rolling back from version {from}, and a rollback never goes forward: \
             activate version {from} to return to it"
        )
    });
    Ok(StoreError::Conflict(format!(
        "nothing to roll back to: {name} rules version {current} is the oldest entry of realm {realm:?}'s \
         activation history (no version was active before it){how}"
    )))
}

/// Row `seq` of the activation history.
async fn activation(
    tx: &mut WriteTx,
    tenant: &str,
    realm: &str,
    kind: RuleKind,
    seq: i64,
) -> Result<Option<Activation>> {
    let row = sqlx::query(
        "SELECT seq, version, back_seq FROM module_activations \
         WHERE tenant_id = $1 AND realm_id = $2 AND kind = $3 AND seq = $4",
    )
    .bind(tenant)
    .bind(realm)
    .bind(kind.as_str())
    .bind(seq)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(decode_activation).transpose()
}

fn decode_activation(row: &sqlx::any::AnyRow) -> Result<Activation> {
    Ok(Activation {
        seq: rows::get(row, "seq")?,
        version: rows::get(row, "version")?,
        back_seq: rows::get(row, "back_seq")?,
    })
}

/// Appends a row to the activation history.
async fn record_activation(
    tx: &mut WriteTx,
    tenant: &str,
    realm: &str,
    kind: RuleKind,
    row: Activation,
    action: &str,
    audit: &Audit,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO module_activations (tenant_id, realm_id, kind, seq, version, back_seq, action, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tenant)
    .bind(realm)
    .bind(kind.as_str())
    .bind(row.seq)
    .bind(row.version)
    .bind(row.back_seq)
    .bind(action)
    .bind(audit.actor.as_str())
    .bind(audit.at)
    .execute(tx.conn())
    .await?;
    Ok(())
}
