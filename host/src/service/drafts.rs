//! Drafts: the module of a stored version run with other settings, by the previews only (the
//! test panel's dry runs, impact previews, backtests), so a change of settings can be seen
//! before it is uploaded. A draft's settings are validated and prepared exactly as an upload's
//! (the module's own validation, then its settings snapshot) and refused with the same answer;
//! unlike an upload, organizations the tenant does not have are not a refusal (the previews list
//! them). Nothing of a draft is stored or audited; its snapshot is cached like a version's.

use serde_json::Value;

use super::{
    SharedState,
    draft_set::{Draft, Drafts},
    error::{ServiceError, preview_failure},
    modules::{check_entry_runs, settings_refused, snapshot_refused},
    rules::Selection,
};
use crate::decision::{evaluator::LoadedModule, outcome::ModuleRef};
use muster_store::model::{Realm, RuleKind};

/// Prepares a draft of `kind`: the module of the realm's stored `version` of that kind, with
/// `settings` instead of the version's own. A version that does not exist is `NotFound`;
/// settings the module refuses (its validation, settings that leave `kind` nothing to run, or
/// loading them into its snapshot) are `InvalidSettings`, exactly as an upload refuses them; a snapshot that could not get a compile
/// slot in time is `Busy`.
pub async fn prepare(
    state: &SharedState,
    realm: &Realm,
    kind: RuleKind,
    version: i64,
    settings: &Value,
) -> Result<Draft, ServiceError> {
    let tenant = &realm.tenant_id;
    let stored = state.rules.version(&state.store, tenant, &realm.id, kind, version).await.map_err(preview_failure)?;
    let module = state.rules.module(&state.store, tenant, &stored.digest).await.map_err(preview_failure)?;
    let json = serde_json::to_vec(settings).map_err(ServiceError::internal)?;
    let checked = module.clone();
    let prepared = state
        .rules
        .engine_work()
        .run(move || {
            let prepared = checked.prepare_settings(&json).map_err(settings_refused)?;
            check_entry_runs(&checked, &prepared, kind)?;
            Ok::<_, ServiceError>(prepared)
        })
        .await
        .map_err(ServiceError::internal)??;
    let snapshot = state.rules.draft_snapshot(tenant, module, prepared.clone()).await.map_err(snapshot_refused)?;
    let reference = ModuleRef { version, digest: stored.digest.clone(), draft: true };
    Ok(Draft::new(kind, LoadedModule { module: snapshot, settings: prepared, reference }))
}

/// The drafts of a preview of the candidate `version` of `kind` (an impact preview, a
/// backtest): none without `settings`, else a draft ([`prepare`]) of that version with them.
pub async fn of_candidate(
    state: &SharedState,
    realm: &Realm,
    kind: RuleKind,
    version: i64,
    settings: Option<Value>,
) -> Result<Drafts, ServiceError> {
    match settings {
        Some(settings) => Ok(Drafts::of(prepare(state, realm, kind, version, &settings).await?)),
        None => Ok(Drafts::default()),
    }
}

/// The settings of a dry run's drafts, per kind: `None` runs the selected version as stored.
#[derive(Debug, Default)]
pub struct DraftSettings {
    /// Settings for the user rules.
    pub user_rules: Option<Value>,
    /// Settings for the group rules.
    pub group_rules: Option<Value>,
}

/// Prepares ([`prepare`]) a draft of each kind `settings` gives, of the version `selection`
/// names of that kind. A kind with settings but no version selected (none active, or `null`
/// asked for) is `InvalidValue`: a draft runs a stored version's module.
pub async fn prepare_selected(
    state: &SharedState,
    realm: &Realm,
    selection: Selection,
    settings: DraftSettings,
) -> Result<Drafts, ServiceError> {
    let mut drafts = Drafts::default();
    for (kind, version, settings) in [
        (RuleKind::User, selection.user_rules, settings.user_rules),
        (RuleKind::Group, selection.group_rules, settings.group_rules),
    ] {
        let Some(settings) = settings else { continue };
        let Some(version) = version else {
            let kind = kind.as_str();
            return Err(ServiceError::InvalidValue(format!(
                "`{kind}_rules_settings` is a draft of a stored version's module, and no {kind} rules version is \
                 selected: the realm has none active and `{kind}_rules_version` names none"
            )));
        };
        drafts = drafts.with(prepare(state, realm, kind, version, &settings).await?);
    }
    Ok(drafts)
}
