//! The files of a new crate, rendered from the templates beside this module.

use std::{fmt, path::Path};

use anyhow::{Context as _, bail};

/// Which rules a new module implements.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Kind {
    /// Decides users (`UserRules`).
    User,
    /// Marks provider groups (`GroupRules`).
    Group,
    /// Both.
    Both,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Both => "user and group",
        })
    }
}

impl Kind {
    /// Whether the module decides users.
    pub fn users(self) -> bool {
        matches!(self, Kind::User | Kind::Both)
    }

    /// Whether the module marks provider groups.
    pub fn groups(self) -> bool {
        matches!(self, Kind::Group | Kind::Both)
    }

    /// The entry points, as `export!` and `native!` list them.
    fn entries(self) -> &'static str {
        match self {
            Kind::User => "user_rules",
            Kind::Group => "group_rules",
            Kind::Both => "user_rules, group_rules",
        }
    }
}

const CARGO_MEMBER: &str = include_str!("Cargo.member.toml.tmpl");
const CARGO_STANDALONE: &str = include_str!("Cargo.standalone.toml.tmpl");
const GITIGNORE: &str = "/target\n";
const LIB: &str = include_str!("lib.rs.tmpl");
const USER_RULES: &str = include_str!("user_rules.rs.tmpl");
const GROUP_RULES: &str = include_str!("group_rules.rs.tmpl");
const FIXTURES_TEST: &str = include_str!("fixtures.rs.tmpl");
const USERS_FIXTURE: &str = include_str!("users.json.tmpl");
const GROUPS_FIXTURE: &str = include_str!("groups.json.tmpl");

/// Names the policy type must not take: they are in the SDK's prelude or the template's own.
const TAKEN_TYPE_NAMES: &[&str] = &[
    "Context",
    "GroupAssignment",
    "GroupDecision",
    "GroupRules",
    "Policy",
    "Regex",
    "Rule",
    "Settings",
    "SettingsError",
    "Trace",
    "Trigger",
    "User",
    "UserDecision",
    "UserRules",
];

/// Names cargo or Rust would refuse as a library name.
const RESERVED_NAMES: &[&str] = &[
    "alloc",
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "proc_macro",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
];

/// Refuses a name that is not a plain crate name.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let well_formed = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !name.ends_with(['-', '_']);
    if !well_formed {
        bail!(
            "{name:?} is not a crate name: use lower-case letters, digits, `-` and `_`, starting with a letter \
             (at most 64 characters), e.g. acme-rules"
        );
    }
    if RESERVED_NAMES.contains(&library(name).as_str()) {
        bail!("{name:?} is reserved by Rust or cargo: choose another name");
    }
    Ok(())
}

/// The library name: the crate name with `-` as `_` (also the `.wasm` file's name).
fn library(name: &str) -> String {
    name.replace('-', "_")
}

/// The policy type's name: the crate name in CamelCase (`acme-rules` → `AcmeRules`).
fn type_name(name: &str) -> String {
    let camel: String = name
        .split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    if TAKEN_TYPE_NAMES.contains(&camel.as_str()) { format!("{camel}Policy") } else { camel }
}

/// The crate's files (path relative to the crate, contents). `sdk` is the checkout a standalone
/// crate depends on; `None` for a workspace member.
pub fn render(name: &str, kind: Kind, sdk: Option<&Path>) -> anyhow::Result<Vec<(&'static str, String)>> {
    let lib = library(name);
    let type_name = type_name(name);
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{lib}}", &lib)
            .replace("{{type}}", &type_name)
            .replace("{{entries}}", kind.entries())
    };
    let mut impls = String::new();
    let mut summary = Vec::new();
    if kind.users() {
        impls.push_str(USER_RULES);
        summary.push("A user: the first rule matching one of their `department` values; else `organization`.");
    }
    if kind.groups() {
        impls.push_str(GROUP_RULES);
        summary.push("A provider group: the first rule matching its name; else `organization`.");
    }
    let lib_rs = LIB.replace("{{impls}}", &impls).replace("{{summary}}", &summary.join("\n//! "));

    let mut files = vec![("Cargo.toml", cargo_toml(name, sdk)?), ("src/lib.rs", fill(&lib_rs))];
    files.push(("tests/fixtures.rs", fill(FIXTURES_TEST)));
    if kind.users() {
        files.push(("fixtures/users.json", fill(USERS_FIXTURE)));
    }
    if kind.groups() {
        files.push(("fixtures/groups.json", fill(GROUPS_FIXTURE)));
    }
    if sdk.is_some() {
        files.push((".gitignore", GITIGNORE.to_owned()));
    }
    Ok(files)
}

fn cargo_toml(name: &str, sdk: Option<&Path>) -> anyhow::Result<String> {
    let Some(sdk) = sdk else {
        return Ok(CARGO_MEMBER.replace("{{name}}", name));
    };
    let quoted = |relative: &str| -> anyhow::Result<String> {
        let path = sdk.join(relative);
        let path = path.to_str().with_context(|| format!("{} is not valid UTF-8", path.display()))?;
        Ok(toml::Value::String(path.to_owned()).to_string())
    };
    Ok(CARGO_STANDALONE
        .replace("{{name}}", name)
        .replace("{{guest_path}}", &quoted("guest-sdk")?)
        .replace("{{harness_path}}", &quoted("guest-sdk/harness")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_not_crate_names_are_refused() {
        for name in ["", "Acme", "1rules", "acme rules", "acme-", "a/b", "ünï", "self", "std", "test"] {
            assert!(check_name(name).is_err(), "{name:?} was accepted");
        }
        for name in ["acme", "acme-rules", "acme_rules2"] {
            check_name(name).unwrap();
        }
    }

    #[test]
    fn the_type_is_the_name_in_camel_case_and_never_shadows_the_prelude() {
        assert_eq!(type_name("acme-rules"), "AcmeRules");
        assert_eq!(type_name("acme_rules2"), "AcmeRules2");
        assert_eq!(type_name("user"), "UserPolicy");
        assert_eq!(type_name("settings"), "SettingsPolicy");
    }

    #[test]
    fn every_placeholder_is_filled() {
        for kind in [Kind::User, Kind::Group, Kind::Both] {
            for sdk in [None, Some(Path::new("/opt/muster \"x\""))] {
                for (path, contents) in render("acme-rules", kind, sdk).unwrap() {
                    assert!(!contents.contains("{{"), "{path} ({kind:?}) keeps a placeholder:\n{contents}");
                }
            }
        }
    }

    #[test]
    fn a_standalone_crate_is_its_own_workspace_on_the_sdk_by_path() {
        let files = render("acme-rules", Kind::User, Some(Path::new("/opt/muster"))).unwrap();
        let cargo: toml::Table = files[0].1.parse().unwrap();
        assert!(cargo.contains_key("workspace"));
        assert_eq!(cargo["dependencies"]["muster-guest"]["path"].as_str(), Some("/opt/muster/guest-sdk"));
        assert_eq!(cargo["dev-dependencies"]["muster-harness"]["path"].as_str(), Some("/opt/muster/guest-sdk/harness"));
    }
}
