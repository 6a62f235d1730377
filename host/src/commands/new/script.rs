//! `muster new --lang js`: a folder of JavaScript rules for the stock js-rules module
//! (docs/javascript.md). Nothing to compile: the script, the declarations editors read, a config,
//! fixture files that `muster test --script` runs, and an input for `muster eval --script`.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::templates::Kind;
use crate::commands::checkout::Checkout;

const RULES: &str = include_str!("js/rules.js.tmpl");
const USER_RULES: &str = include_str!("js/user_rules.js.tmpl");
const GROUP_RULES: &str = include_str!("js/group_rules.js.tmpl");
const CONFIG: &str = include_str!("js/config.json.tmpl");
const USERS_FIXTURE: &str = include_str!("js/users.json.tmpl");
const GROUPS_FIXTURE: &str = include_str!("js/groups.json.tmpl");
/// The author's API as TypeScript declarations: the js-rules module's own file, so the scaffold
/// describes exactly the module that runs it.
const DECLARATIONS: &str = include_str!("../../../../policies/js-rules/muster.d.ts");

/// Refuses a place the workspace would take for a crate: a folder of scripts under `policies/`
/// (no `Cargo.toml`) would break every build of the checkout.
pub fn check_place(checkout: &Checkout, dir: &Path) -> anyhow::Result<()> {
    if dir.starts_with(checkout.root().join("policies")) {
        bail!(
            "{} is under the checkout's policies/, where every directory must be a rule-module crate: \
             put JavaScript rules anywhere else (--dir)",
            dir.display()
        );
    }
    Ok(())
}

/// The folder's files (path relative to it, contents).
pub fn render(name: &str, kind: Kind) -> Vec<(&'static str, String)> {
    let mut summary = Vec::new();
    let mut rules = RULES.to_owned();
    if kind.users() {
        summary.push("A user: the first rule whose pattern matches one of their departments; else `organization`.");
        rules.push_str(USER_RULES);
    }
    if kind.groups() {
        summary.push("A provider group: the first rule whose pattern matches its name; else `organization`.");
        rules.push_str(GROUP_RULES);
    }
    let rules = rules.replace("{{name}}", name).replace("{{summary}}", &summary.join("\n// "));
    let mut files = vec![
        ("rules.js", rules),
        ("muster.d.ts", DECLARATIONS.to_owned()),
        ("config.json", CONFIG.to_owned()),
        ("example-input.json", example_input(kind)),
    ];
    if kind.users() {
        files.push(("fixtures/users.json", USERS_FIXTURE.to_owned()));
    }
    if kind.groups() {
        files.push(("fixtures/groups.json", GROUPS_FIXTURE.to_owned()));
    }
    files
}

/// A `muster eval --input` document for the rules `kind` has: a user for `decideUser`, provider
/// groups for `decideGroup`.
fn example_input(kind: Kind) -> String {
    let mut input = serde_json::json!({"context": {"realm": "entra", "trigger": "login"}});
    if kind.users() {
        input["user"] = serde_json::json!({
            "user_name": "ada@acme.com",
            "email": "ada@acme.com",
            "attributes": {"department": ["Sales"]},
            "provider_groups": ["sales-emea", "all-staff"],
        });
    }
    if kind.groups() {
        input["groups"] = serde_json::json!(["sales-emea", "all-staff"]);
    }
    serde_json::to_string_pretty(&input).expect("a JSON value serializes") + "\n"
}

/// Writes the files into `dir` (created empty by the caller).
pub fn write(name: &str, kind: Kind, dir: &Path) -> anyhow::Result<()> {
    for (path, contents) in render(name, kind) {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// What to run next, printed after the folder is written.
pub fn print_next_steps(name: &str, kind: Kind, dir: &Path) {
    println!("created {name} ({kind} rules in JavaScript) in {}", dir.display());
    println!("next:");
    println!("  cd {}", dir.display());
    println!("  muster test --script rules.js fixtures/");
    println!("  muster eval --script rules.js --settings config.json --input example-input.json");
    let kinds: &[&str] = match kind {
        Kind::User => &["user"],
        Kind::Group => &["group"],
        Kind::Both => &["user", "group"],
    };
    for kind in kinds {
        println!(
            "  muster upload --kind {kind} --script rules.js --settings config.json --realm <realm> --token-file <key>"
        );
    }
}
