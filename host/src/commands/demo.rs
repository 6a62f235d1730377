//! `muster serve --demo`: a demo tenant with the stock rule modules, ready for one `curl`.

use std::path::Path;

use anyhow::Context as _;
use muster::{
    auth,
    service::{AppState, now_millis},
};
use muster_store::{
    Audit, NewModuleVersion,
    model::{KeyKind, Organization, Realm, RuleKind, Tenant},
};

/// The demo tenant's id.
pub const TENANT: &str = "demo";
/// The demo realm's id.
pub const REALM: &str = "entra";

/// Seeds the demo tenant unless it exists; writes its keys next to the store.
pub async fn seed(state: &AppState, modules_dir: &Path, data_dir: &Path) -> anyhow::Result<()> {
    if state.store.get_tenant(TENANT).await?.is_some() {
        tracing::info!("demo tenant already seeded; keys are in {}", data_dir.display());
        return Ok(());
    }
    let now = now_millis();
    let audit = Audit { actor: "demo".into(), at: now };
    let store = &state.store;
    store
        .create_tenant(
            &Tenant { id: TENANT.into(), name: "Demo".into(), decision_retention_days: None, created_at: now },
            &audit,
        )
        .await?;
    for (id, name) in [("acme", "ACME"), ("acme-sales", "ACME Sales"), ("acme-engineering", "ACME Engineering")] {
        store.save_organization(TENANT, &Organization { id: id.into(), name: name.into() }, &audit).await?;
    }
    let realm = Realm::new(TENANT, REALM, "Entra ID", Some("acme".into()), now);
    store.create_realm(&realm, &audit).await?;
    let user_rules = include_str!("../../../docs/demo/user-rules.json");
    upload_and_activate(state, modules_dir, "user_rules", RuleKind::User, user_rules, &audit).await?;
    let group_rules = r#"{"rules": [{"name": "sales", "pattern": "^sales-", "organizations": ["acme-sales"]}], "fallback": ["acme"]}"#;
    upload_and_activate(state, modules_dir, "group_rules", RuleKind::Group, group_rules, &audit).await?;
    for (kind, file) in [(KeyKind::Admin, "demo-admin-token"), (KeyKind::Evaluation, "demo-eval-token")] {
        let (key, token) = auth::new_api_key(TENANT, kind, "demo", now);
        store.insert_key(&key, &audit).await?;
        let path = data_dir.join(file);
        std::fs::write(&path, &token).with_context(|| format!("cannot write {}", path.display()))?;
    }
    tracing::info!("demo tenant seeded; keys written to {}/demo-*-token", data_dir.display());
    Ok(())
}

async fn upload_and_activate(
    state: &AppState,
    modules_dir: &Path,
    artifact: &str,
    kind: RuleKind,
    settings: &str,
    audit: &Audit,
) -> anyhow::Result<()> {
    let path = modules_dir.join(format!("{artifact}.wasm"));
    let wasm =
        std::fs::read(&path).with_context(|| format!("cannot read {} (run scripts/build-policies)", path.display()))?;
    let module = state.rules.engine().load(&wasm).with_context(|| format!("{} was refused", path.display()))?;
    let prepared = module.prepare_settings(settings.as_bytes())?;
    let version = state
        .store
        .insert_module_version(
            NewModuleVersion {
                tenant_id: TENANT.into(),
                realm_id: REALM.into(),
                kind,
                digest: module.digest().to_owned(),
                wasm,
                settings: settings.to_owned(),
                prepared_settings: prepared.0,
                note: "stock module, seeded by --demo".into(),
                created_by: "demo".into(),
                created_at: audit.at,
            },
            audit,
        )
        .await?;
    state.store.activate(TENANT, REALM, kind, version.version, audit).await?;
    Ok(())
}
