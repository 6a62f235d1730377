//! A realm's rule-module versions: upload (validated by the engine and by the module's own
//! settings validation, so a version that is stored can run), activation and rollback.

use std::collections::BTreeSet;

use muster_engine::{EvalError, LoadError, PreparedSettings, RuleModule};
use serde_json::Value;

use super::{
    SharedState,
    access::Caller,
    compiles::CompileError,
    error::{ServiceError, SettingsRefusal},
    now_millis,
    settings_schema::{NamedOrganization, organizations_named},
};
use muster_store::{
    Audit, AutomaticRollback, FailingVersion, NewModuleVersion,
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

/// Validates and stores a new version of `upload.kind`, with the settings schema its module
/// publishes; it is not active until activated. A module the engine refuses, one without the
/// entry point of its kind, or one whose schema export fails or answers something other than a
/// JSON object is `InvalidValue`; settings the module refuses are `InvalidSettings`, with the
/// path of the problem in the author's document, and so are settings that name (where the
/// module's schema marks organization fields) organizations the tenant does not have, unless
/// the realm creates organizations on first use; one that would exceed a quota of the realm or tenant
/// ([`Config::module_quotas`](crate::config::Config::module_quotas)) is `QuotaExceeded`; a module
/// that could not get a compile slot in time (its tenant's or the server's) is `Busy`; in every
/// case nothing is stored.
pub async fn upload(
    state: &SharedState,
    realm: &Realm,
    upload: Upload,
    caller: &Caller,
) -> Result<ModuleVersion, ServiceError> {
    let Upload { kind, wasm, settings: document, note } = upload;
    let settings = serde_json::to_string(&document).map_err(ServiceError::internal)?;
    let module = state.rules.load_module(&realm.tenant_id, wasm.clone()).await.map_err(ServiceError::from_compile)?;
    let checked_settings = settings.clone();
    let (wasm, module, prepared, settings_schema) = state
        .rules
        .engine_work()
        .run(move || {
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
            let settings_schema = published_schema(&module)?;
            let prepared = module.prepare_settings(checked_settings.as_bytes()).map_err(settings_refused)?;
            check_entry_runs(&module, &prepared, kind)?;
            Ok((wasm, module, prepared, settings_schema))
        })
        .await
        .map_err(ServiceError::internal)??;
    // The version runs as its settings snapshot: take it now, so that settings the module cannot
    // load are refused here and the snapshot's code is in the disk cache for the first decision.
    let digest = module.digest().to_owned();
    state.rules.snapshot_module(&realm.tenant_id, module, prepared.clone()).await.map_err(snapshot_refused)?;
    if let Some(schema) = &settings_schema
        && !realm.create_organizations
    {
        check_organizations(state, &realm.tenant_id, schema, &document).await?;
    }
    let now = now_millis();
    let version = NewModuleVersion {
        tenant_id: realm.tenant_id.clone(),
        realm_id: realm.id.clone(),
        kind,
        digest,
        wasm,
        settings,
        prepared_settings: prepared.0,
        settings_schema,
        note,
        created_by: caller.key.id.clone(),
        created_at: now,
    };
    let audit = Audit { actor: caller.actor(), at: now };
    Ok(state.store.insert_module_version_within(version, &state.config.module_quotas(), &audit).await?)
}

/// Refuses settings that leave the `kind` rules of `module` nothing to run (a js-rules script
/// without `decideGroup` uploaded as group rules, say), as the module says: every evaluation of
/// such a version would fail.
pub(super) fn check_entry_runs(
    module: &RuleModule,
    prepared: &PreparedSettings,
    kind: RuleKind,
) -> Result<(), ServiceError> {
    let missing = module.missing_entries(prepared).map_err(settings_refused)?;
    let missing = match kind {
        RuleKind::User => missing.user_rules,
        RuleKind::Group => missing.group_rules,
    };
    match missing {
        None => Ok(()),
        Some(refused) => Err(ServiceError::InvalidSettings(SettingsRefusal {
            path: refused.path,
            message: format!("uploaded as {} rules, but {}", kind.as_str(), refused.message),
            unknown_organizations: Vec::new(),
        })),
    }
}

/// Refuses a settings document that names, where its module's schema marks organization fields,
/// organizations the tenant does not have: a realm that does not create organizations on first
/// use would fail every decision that reaches them.
async fn check_organizations(
    state: &SharedState,
    tenant: &str,
    schema: &str,
    document: &Value,
) -> Result<(), ServiceError> {
    let schema: Value = serde_json::from_str(schema).map_err(ServiceError::internal)?;
    let named = organizations_named(&schema, document);
    if named.is_empty() {
        return Ok(());
    }
    let known: BTreeSet<String> = state.store.list_organizations(tenant).await?.into_iter().map(|o| o.id).collect();
    let unknown: Vec<NamedOrganization> =
        named.into_iter().filter(|named| !known.contains(&named.organization)).collect();
    let Some(first) = unknown.first() else { return Ok(()) };
    let mut names: Vec<&str> = unknown.iter().map(|n| n.organization.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    Err(ServiceError::InvalidSettings(SettingsRefusal {
        path: first.path.clone(),
        message: format!(
            "names organizations the tenant does not have: {} (create them first, or let the realm create \
             organizations on first use)",
            names.join(", ")
        ),
        unknown_organizations: unknown,
    }))
}

/// The settings schema `module` publishes, checked to be a JSON object; `None` if it publishes
/// none.
fn published_schema(module: &RuleModule) -> Result<Option<String>, ServiceError> {
    let refused = |why: String| ServiceError::InvalidValue(format!("module refused: its settings schema {why}"));
    let Some(schema) = module.settings_schema().map_err(|e| refused(format!("could not be read: {e}")))? else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(&schema) {
        Ok(Value::Object(_)) => Ok(Some(schema)),
        Ok(_) | Err(_) => Err(refused("is not a JSON object".into())),
    }
}

/// The answer to a settings snapshot that failed (an upload's or a draft's): one that failed
/// while the module loaded its settings refuses the settings ([`settings_refused`]); any other
/// failure is the compile's.
pub(super) fn snapshot_refused(error: CompileError) -> ServiceError {
    match error {
        CompileError::Refused(LoadError::Startup(failure)) => settings_refused(*failure),
        other => ServiceError::from_compile(other),
    }
}

/// The answer to settings the module refused (an upload's or a draft's): where and why, in the
/// author's document. The module reads a compact copy of the document, one line long, so a
/// message that ends with serde_json's ` at line 1 column N` (a module built with an older SDK)
/// points into a text the author never wrote: that position is dropped, the path says where.
/// Any other position (a script's `line L, column C` in its own text) is kept.
pub(super) fn settings_refused(error: EvalError) -> ServiceError {
    match error {
        EvalError::InvalidSettings(refused) => {
            let message = match refused.message.rsplit_once(" at line 1 column ") {
                Some((message, column)) if !column.is_empty() && column.bytes().all(|b| b.is_ascii_digit()) => {
                    message.to_owned()
                }
                _ => refused.message,
            };
            ServiceError::InvalidSettings(SettingsRefusal {
                path: refused.path,
                message,
                unknown_organizations: Vec::new(),
            })
        }
        other => ServiceError::InvalidSettings(SettingsRefusal {
            path: String::new(),
            message: other.to_string(),
            unknown_organizations: Vec::new(),
        }),
    }
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

/// Rolls back the realm's active version that failed too often on live decisions, exactly as
/// [`rollback`] does, if it is still active; audited as automatic with the evidence (see
/// [`Store::rollback_failing`](muster_store::Store::rollback_failing)).
pub async fn rollback_failing(
    state: &SharedState,
    realm: &Realm,
    failing: &FailingVersion,
    audit: &Audit,
) -> Result<AutomaticRollback, ServiceError> {
    Ok(state.store.rollback_failing(&realm.tenant_id, &realm.id, failing, audit).await?)
}

#[cfg(test)]
mod tests {
    use muster_wire::SettingsError;

    use super::*;

    fn refusal(error: EvalError) -> SettingsRefusal {
        match settings_refused(error) {
            ServiceError::InvalidSettings(refusal) => refusal,
            other => panic!("not a settings refusal: {other:?}"),
        }
    }

    #[test]
    fn a_refusal_names_the_path_and_drops_the_position_in_the_compact_copy() {
        let error = |message: &str| {
            EvalError::InvalidSettings(SettingsError { path: "rules[2].when".into(), message: message.into() })
        };
        let refused = refusal(error("unknown variant `allz`, expected `all` at line 1 column 57"));
        assert_eq!(refused.path, "rules[2].when");
        assert_eq!(refused.message, "unknown variant `allz`, expected `all`");
        assert_eq!(refused.to_string(), "settings refused at rules[2].when: unknown variant `allz`, expected `all`");
        // Anything else is kept as the module said it.
        assert_eq!(refusal(error("must not be empty")).message, "must not be empty");
        assert_eq!(refusal(error("ends at line 1 column x")).message, "ends at line 1 column x");
        // A module that fails while reading its settings refuses them as a whole.
        let trapped = refusal(EvalError::Trap("unreachable".into()));
        assert_eq!(trapped.path, "");
        assert!(trapped.to_string().starts_with("settings refused: "), "{trapped}");
    }
}
