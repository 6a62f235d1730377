//! `muster serve --demo`: a demo tenant with the stock rule modules, ready for one `curl`.
//!
//! The demo writes working keys (an admin key among them) as files into the data directory, so
//! it keeps them private: the directory, when the demo creates it, is `0700`, and the key files
//! are `0600` (also the files of an earlier run, which may predate this rule). A data directory
//! that already exists is the operator's: its mode is left as it is, with a warning if other
//! users may enter it (docs/configuration.md says it must be the service account's alone).

use std::{
    fs::{DirBuilder, OpenOptions, Permissions},
    io::Write as _,
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _},
    path::Path,
};

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
/// The demo realm whose rules are JavaScript (`docs/demo/rules.js`, run by js-rules).
pub const JS_REALM: &str = "okta-js";

/// The demo keys and the files, in the data directory, they are written to.
const KEY_FILES: [(KeyKind, &str); 2] =
    [(KeyKind::Admin, "demo-admin-token"), (KeyKind::Evaluation, "demo-eval-token")];

/// Mode of the data directory when the demo creates it: its owner's alone.
const PRIVATE_DIR: u32 = 0o700;
/// Mode of the key files: readable and writable by their owner alone.
const PRIVATE_FILE: u32 = 0o600;

/// Makes the data directory ready for the demo's key files, before the store opens it: creates it
/// (its missing parents as usual) with mode `0700` if it is missing, warns if an existing one is
/// open to other users, and makes key files of an earlier run `0600`.
pub fn prepare_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    if let Some(parent) = data_dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    match DirBuilder::new().mode(PRIVATE_DIR).create(data_dir) {
        // The umask may have taken bits away (never added any): say exactly what it is.
        Ok(()) => std::fs::set_permissions(data_dir, Permissions::from_mode(PRIVATE_DIR))
            .with_context(|| format!("cannot make {} private", data_dir.display()))?,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let metadata =
                std::fs::metadata(data_dir).with_context(|| format!("cannot read {}", data_dir.display()))?;
            anyhow::ensure!(metadata.is_dir(), "data directory {} is not a directory", data_dir.display());
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "data directory {} has mode {mode:o}: other users may enter it (the demo key files are 0600; \
                     chmod 700 it to keep the store private too)",
                    data_dir.display()
                );
            }
        }
        Err(error) => {
            return Err(error).with_context(|| format!("cannot create data directory {}", data_dir.display()));
        }
    }
    for (_, file) in KEY_FILES {
        let path = data_dir.join(file);
        if std::fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.is_file()) {
            std::fs::set_permissions(&path, Permissions::from_mode(PRIVATE_FILE))
                .with_context(|| format!("cannot make {} private", path.display()))?;
        }
    }
    Ok(())
}

/// Writes `contents` to the file at `path` (created or truncated), readable by its owner alone.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(PRIVATE_FILE).open(path)?;
    // `mode` applies only to a file this creates: a file that was there keeps its own until now.
    file.set_permissions(Permissions::from_mode(PRIVATE_FILE))?;
    file.write_all(contents.as_bytes())
}

/// Seeds the demo tenant unless it exists; writes its keys next to the store, `0600` (see
/// [`prepare_data_dir`]).
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
    upload_and_activate(state, modules_dir, (REALM, "user_rules"), RuleKind::User, user_rules, &audit).await?;
    let group_rules = r#"{"rules": [{"name": "sales", "pattern": "^sales-", "organizations": ["acme-sales"]}], "fallback": ["acme"]}"#;
    upload_and_activate(state, modules_dir, (REALM, "group_rules"), RuleKind::Group, group_rules, &audit).await?;
    let js_realm = Realm::new(TENANT, JS_REALM, "Okta (rules in JavaScript)", Some("acme".into()), now);
    store.create_realm(&js_realm, &audit).await?;
    let script = serde_json::json!({ "script": include_str!("../../../docs/demo/rules.js") }).to_string();
    for kind in [RuleKind::User, RuleKind::Group] {
        upload_and_activate(state, modules_dir, (JS_REALM, "js_rules"), kind, &script, &audit).await?;
    }
    for (kind, file) in KEY_FILES {
        let (key, token) = auth::new_api_key(TENANT, kind, "demo", now);
        store.insert_key(&key, &audit).await?;
        let path = data_dir.join(file);
        write_private(&path, &token).with_context(|| format!("cannot write {}", path.display()))?;
    }
    tracing::info!("demo tenant seeded; keys written to {}/demo-*-token", data_dir.display());
    Ok(())
}

async fn upload_and_activate(
    state: &AppState,
    modules_dir: &Path,
    (realm, artifact): (&str, &str),
    kind: RuleKind,
    settings: &str,
    audit: &Audit,
) -> anyhow::Result<()> {
    let path = modules_dir.join(format!("{artifact}.wasm"));
    let wasm =
        std::fs::read(&path).with_context(|| format!("cannot read {} (run scripts/build-policies)", path.display()))?;
    let module = state.rules.engine().load(&wasm).with_context(|| format!("{} was refused", path.display()))?;
    let prepared = module.prepare_settings(settings.as_bytes())?;
    let settings_schema = module.settings_schema()?;
    let version = state
        .store
        .insert_module_version(
            NewModuleVersion {
                tenant_id: TENANT.into(),
                realm_id: realm.into(),
                kind,
                digest: module.digest().to_owned(),
                wasm,
                settings: settings.to_owned(),
                prepared_settings: prepared.0,
                settings_schema,
                note: "stock module, seeded by --demo".into(),
                created_by: "demo".into(),
                created_at: audit.at,
            },
            audit,
        )
        .await?;
    state.store.activate(TENANT, realm, kind, version.version, audit).await?;
    Ok(())
}
