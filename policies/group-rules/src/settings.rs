//! The settings document and its validation.

use std::collections::BTreeMap;

use muster_guest::schema::{self, JsonSchema};
use muster_guest::settings::error_at;
use muster_guest::{Regex, SettingsError};
use serde::{Deserialize, Serialize};

/// Most rules a document may hold.
pub const MAX_RULES: usize = 1000;

/// The rule name [`GroupAssignment::rule`](muster_guest::GroupAssignment) carries when the
/// fallback decided; no rule may take it.
pub const FALLBACK: &str = "fallback";

/// The settings document of the group-rules policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The rules, in order; for each group the first whose pattern matches decides.
    pub rules: Vec<GroupRule>,
    /// The organizations of groups no rule matches; `None` (absent or `null`) leaves them with
    /// *No organization*.
    #[serde(default)]
    #[schemars(transform = schema::organization)]
    pub fallback: Option<Vec<String>>,
}

/// One rule: groups whose name matches `pattern` are marked with `organizations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    /// The rule's name, unique in the document; it names the rule in traces and decisions.
    pub name: String,
    /// A regular expression (Rust `regex` syntax) searched for in the group's name: anchor it
    /// with `^…$` to match the whole name and escape special characters (`\\.` for a dot).
    pub pattern: Regex,
    /// The organizations the matching groups are marked with (at least one).
    #[schemars(transform = schema::organization)]
    pub organizations: Vec<String>,
}

/// Checks names (non-empty, unique, not `fallback`) and organization lists (non-empty, of
/// non-empty, distinct names), reporting the exact path of the first problem.
pub fn validate(settings: &Settings) -> Result<(), SettingsError> {
    if settings.rules.len() > MAX_RULES {
        let found = settings.rules.len();
        return Err(error_at("rules", format!("holds {found} rules; at most {MAX_RULES} are allowed")));
    }
    let mut names = BTreeMap::new();
    for (i, rule) in settings.rules.iter().enumerate() {
        let path = format!("rules[{i}].name");
        if rule.name.trim().is_empty() {
            return Err(error_at(path, "must not be empty"));
        }
        if rule.name == FALLBACK {
            return Err(error_at(
                path,
                "`fallback` is reserved: assignments made by the fallback carry that rule name",
            ));
        }
        if let Some(first) = names.insert(rule.name.as_str(), i) {
            return Err(error_at(
                path,
                format!("duplicate rule name `{}` (already used by rules[{first}])", rule.name),
            ));
        }
        organizations(&format!("rules[{i}].organizations"), &rule.organizations)?;
    }
    match &settings.fallback {
        Some(fallback) if fallback.is_empty() => {
            Err(error_at("fallback", "must list at least one organization; leave it out (or null) for No organization"))
        }
        Some(fallback) => organizations("fallback", fallback),
        None => Ok(()),
    }
}

fn organizations(path: &str, organizations: &[String]) -> Result<(), SettingsError> {
    if organizations.is_empty() {
        return Err(error_at(path, "must list at least one organization"));
    }
    for (j, organization) in organizations.iter().enumerate() {
        if organization.trim().is_empty() {
            return Err(error_at(format!("{path}[{j}]"), "must name an organization"));
        }
        if organizations[..j].contains(organization) {
            return Err(error_at(format!("{path}[{j}]"), format!("duplicate organization `{organization}`")));
        }
    }
    Ok(())
}
