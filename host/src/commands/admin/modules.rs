//! `muster upload`, `versions`, `activate`, `rollback`: a realm's rule-module versions.

use std::path::PathBuf;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

use crate::commands::script::{Script, js_rules_module};

use super::{
    EXIT_CODES,
    client::Failure,
    files,
    options::{Kind, RealmConnection},
    output,
};

/// Upload a version of the realm's user or group rules (stored, not yet active).
///
/// The server checks the module and its settings first; nothing is stored if it refuses them.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct UploadArgs {
    /// Which rules the module provides.
    #[arg(long)]
    kind: Kind,
    /// The compiled rule module (.wasm); sent base64-encoded. With --script: the js-rules
    /// module, by default the one `scripts/build-policies js-rules` built in this checkout.
    #[arg(long, value_name = "M.wasm", required_unless_present = "script")]
    module: Option<PathBuf>,
    /// The module's settings document (JSON; `-`: standard input). Default: `{}`. With
    /// --script: the JSON the script sees as `context.config` (default `null`).
    #[arg(long, value_name = "S.json")]
    settings: Option<PathBuf>,
    /// JavaScript rules (docs/javascript.md): uploads the js-rules module with the settings
    /// `{"script": <this file>, "config": <--settings>}`.
    #[arg(long, value_name = "RULES.js")]
    script: Option<PathBuf>,
    /// What changed, for whoever reads the versions.
    #[arg(long, default_value = "")]
    note: String,
    #[command(flatten)]
    realm: RealmConnection,
}

/// Runs `muster upload`.
pub fn upload(args: UploadArgs) -> Result<(), Failure> {
    let given = match &args.settings {
        Some(path) => Some(files::read_json(path, if args.script.is_some() { "config" } else { "settings" })?),
        None => None,
    };
    let (module, settings) = match &args.script {
        Some(script) => {
            let usage = |error: anyhow::Error| Failure::Usage(format!("{error:#}"));
            let module = js_rules_module(args.module.as_deref()).map_err(usage)?;
            let settings = Script::read(script).map_err(usage)?.settings_document(given.unwrap_or(Value::Null));
            (module, settings)
        }
        None => {
            let module =
                args.module.clone().ok_or_else(|| Failure::Usage("--module or --script is required".into()))?;
            (module, given.unwrap_or_else(|| json!({})))
        }
    };
    let wasm = files::read_bytes(&module, "module")?;
    let realm = args.realm.open()?;
    let body = json!({"wasm": STANDARD.encode(wasm), "settings": settings, "note": args.note});
    let answer = realm.client().post(&realm.module_path(args.kind, &[]), &body)?;
    realm.print(&answer, |version| {
        format!(
            "uploaded {} version {} ({}, digest {}); not active: `muster activate --kind {} {}` makes it so",
            args.kind.rules(),
            output::text(&version["version"]),
            output::size(&version["size"]),
            output::short_digest(&version["digest"]),
            args.kind.as_str(),
            output::text(&version["version"]),
        )
    })
}

/// List the versions of the realm's user or group rules, the active and shadow ones marked.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct VersionsArgs {
    /// Which rules.
    #[arg(long)]
    kind: Kind,
    #[command(flatten)]
    realm: RealmConnection,
}

/// Runs `muster versions`.
pub fn versions(args: VersionsArgs) -> Result<(), Failure> {
    let realm = args.realm.open()?;
    let answer = realm.client().get(&realm.module_path(args.kind, &["versions"]))?;
    if realm.tenant.json() {
        return realm.print(&answer, |_| String::new());
    }
    let shadow_field = match args.kind {
        Kind::User => "shadow_user_rules_version",
        Kind::Group => "shadow_group_rules_version",
    };
    let shadow = realm.client().get(&realm.path(&[]))?.json[shadow_field].clone();
    realm.print(&answer, |list| versions_table(args.kind, &realm.id, list, &shadow))
}

fn versions_table(kind: Kind, realm: &str, list: &Value, shadow: &Value) -> String {
    let versions = list["versions"].as_array().map(Vec::as_slice).unwrap_or_default();
    if versions.is_empty() {
        return format!("realm {realm} has no {} versions", kind.rules());
    }
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|version| {
            let state = if version["version"] == list["active"] {
                "active"
            } else if version["version"] == *shadow {
                "shadow"
            } else {
                ""
            };
            vec![
                output::text(&version["version"]),
                state.to_owned(),
                output::time(&version["created_at"]),
                output::size(&version["size"]),
                output::short_digest(&version["digest"]),
                output::text(&version["note"]),
            ]
        })
        .collect();
    let header = ["VERSION", "STATE", "UPLOADED", "SIZE", "DIGEST", "NOTE"];
    format!("{} of realm {realm}:\n{}", kind.rules(), output::table(&header, &rows).trim_end())
}

/// Make a version the realm's active user or group rules, from the next login on.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ActivateArgs {
    /// Which rules.
    #[arg(long)]
    kind: Kind,
    /// The version to activate.
    version: i64,
    #[command(flatten)]
    realm: RealmConnection,
}

/// Runs `muster activate`.
pub fn activate(args: ActivateArgs) -> Result<(), Failure> {
    let realm = args.realm.open()?;
    let version = args.version.to_string();
    let answer = realm.client().post_empty(&realm.module_path(args.kind, &["versions", &version, "activate"]))?;
    realm.print(&answer, |activation| {
        format!("activated {} version {}{}", args.kind.rules(), output::text(&activation["active"]), was(activation))
    })
}

/// Re-activate the version of the realm's rules that was active before the current one.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct RollbackArgs {
    /// Which rules.
    #[arg(long)]
    kind: Kind,
    #[command(flatten)]
    realm: RealmConnection,
}

/// Runs `muster rollback`.
pub fn rollback(args: RollbackArgs) -> Result<(), Failure> {
    let realm = args.realm.open()?;
    let answer = realm.client().post_empty(&realm.module_path(args.kind, &["rollback"]))?;
    realm.print(&answer, |activation| {
        format!(
            "rolled {} back to version {}{}",
            args.kind.rules(),
            output::text(&activation["active"]),
            was(activation)
        )
    })
}

/// ` (was 2)`, or ` (none was active)`.
fn was(activation: &Value) -> String {
    match activation["previous"].as_i64() {
        Some(previous) => format!(" (was {previous})"),
        None => " (none was active)".to_owned(),
    }
}
