//! A realm's rule-module versions: upload (validated by the engine and by the module's own
//! settings validation, so a version that is stored can run), activation and rollback.

use serde_json::Value;

use super::{SharedState, access::Caller, engine_work, error::ServiceError, now_millis};
use muster_store::{
    Audit, NewModuleVersion,
    model::{ModuleVersion, Realm, RuleKind},
};

/// A module version to validate and store.
#[derive(Debug)]
pub struct Upload {
    /// Which rules it provides.
    pub kind: RuleKind,
    /// The compiled module.
    pub wasm: Vec<u8>,
    /// Its settings document.
    pub settings: Value,
    /// What changed, for people.
    pub note: String,
}

/// What an activation or rollback changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activated {
    /// The version now active.
    pub active: i64,
    /// The version active before (`None`: no module was).
    pub previous: Option<i64>,
}

/// Validates and stores a new version of `upload.kind`; it is not active until activated. A
/// module the engine refuses, one without the entry point of its kind, or settings the module
/// refuses is `InvalidValue`; one that would exceed a quota of the realm or tenant
/// ([`Config::module_quotas`](crate::config::Config::module_quotas)) is `QuotaExceeded`; a module
/// that could not get a compile slot in time (its tenant's or the server's) is `Busy`; in every
/// case nothing is stored.
pub async fn upload(
    state: &SharedState,
    realm: &Realm,
    upload: Upload,
    caller: &Caller,
) -> Result<ModuleVersion, ServiceError> {
    let Upload { kind, wasm, settings, note } = upload;
    let settings = serde_json::to_string(&settings).map_err(ServiceError::internal)?;
    let module = state.rules.load_module(&realm.tenant_id, wasm.clone()).await.map_err(ServiceError::from_compile)?;
    let checked_settings = settings.clone();
    let (wasm, digest, prepared) = engine_work::run(state.rules.module_thread_nice(), move || {
        let entries = module.entries();
        let provides = match kind {
            RuleKind::User => entries.user_rules,
            RuleKind::Group => entries.group_rules,
        };
        if !provides {
            return Err(ServiceError::InvalidValue(format!(
                "module refused: it exports no {} rules (`muster_{}_rules`)",
                kind.as_str(),
                kind.as_str()
            )));
        }
        let prepared = module
            .prepare_settings(checked_settings.as_bytes())
            .map_err(|e| ServiceError::InvalidValue(format!("settings refused: {e}")))?;
        Ok((wasm, module.digest().to_owned(), prepared.0))
    })
    .await
    .map_err(ServiceError::internal)??;
    let now = now_millis();
    let version = NewModuleVersion {
        tenant_id: realm.tenant_id.clone(),
        realm_id: realm.id.clone(),
        kind,
        digest,
        wasm,
        settings,
        prepared_settings: prepared,
        note,
        created_by: caller.key.id.clone(),
        created_at: now,
    };
    let audit = Audit { actor: caller.actor(), at: now };
    Ok(state.store.insert_module_version_within(version, &state.config.module_quotas(), &audit).await?)
}

/// Makes `version` the realm's active version of `kind`.
pub async fn activate(
    state: &SharedState,
    realm: &Realm,
    kind: RuleKind,
    version: i64,
    caller: &Caller,
) -> Result<Activated, ServiceError> {
    let audit = Audit { actor: caller.actor(), at: now_millis() };
    let previous = state.store.activate(&realm.tenant_id, &realm.id, kind, version, &audit).await?;
    Ok(Activated { active: version, previous })
}

/// Re-activates the version of `kind` that was active before the current one.
pub async fn rollback(
    state: &SharedState,
    realm: &Realm,
    kind: RuleKind,
    caller: &Caller,
) -> Result<Activated, ServiceError> {
    let audit = Audit { actor: caller.actor(), at: now_millis() };
    let (from, to) = state.store.rollback(&realm.tenant_id, &realm.id, kind, &audit).await?;
    Ok(Activated { active: to, previous: from })
}
