//! The fixture file format.
//!
//! ```json
//! {
//!   "description": "what this file covers",
//!   "settings": { "organization": "acme" },
//!   "context": { "realm": "entra", "trigger": "login" },
//!   "cases": [
//!     { "name": "a user", "user": { "user_name": "ada@acme.com" },
//!       "expect": { "organization": "acme", "rule": "default", "groups": [] } },
//!     { "name": "groups", "groups": ["sales"], "expect_groups": { "sales": ["acme"] } },
//!     { "name": "bad settings", "settings": { "organization": "" },
//!       "expect_settings_error": { "path": "organization", "message_contains": "must" } }
//!   ]
//! }
//! ```

use std::{collections::BTreeMap, path::Path};

use muster_wire::{Context, User};
use serde::Deserialize;

/// One fixture file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureFile {
    /// What the file covers.
    #[serde(default)]
    pub description: String,
    /// The settings document every case uses unless it brings its own.
    #[serde(default)]
    pub settings: Option<serde_json::Value>,
    /// Realm and trigger of every case unless it brings its own.
    #[serde(default)]
    pub context: Context,
    /// The cases, run in order.
    pub cases: Vec<Case>,
}

/// One case: an input and what is expected of it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A sentence saying what the case shows.
    pub name: String,
    /// Settings replacing the file's for this case.
    #[serde(default)]
    pub settings: Option<serde_json::Value>,
    /// Realm and trigger replacing the file's for this case.
    #[serde(default)]
    pub context: Option<Context>,
    /// A user to decide about (with `expect`).
    #[serde(default)]
    pub user: Option<User>,
    /// The decision expected for `user`.
    #[serde(default)]
    pub expect: Option<ExpectedUser>,
    /// Provider groups to mark (with `expect_groups`).
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// The organizations expected per group (compared as sets).
    #[serde(default)]
    pub expect_groups: Option<BTreeMap<String, Vec<String>>>,
    /// The error expected when preparing the settings.
    #[serde(default)]
    pub expect_settings_error: Option<ExpectedSettingsError>,
}

/// The expected decision about a user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedUser {
    /// The organization; `null` means *No organization* (blocked). Required.
    pub organization: Option<String>,
    /// The rule that decided; checked only when given (`null` checks that none did).
    #[serde(default, deserialize_with = "present")]
    pub rule: Option<Option<String>>,
    /// The rule-based groups (compared as a set); checked only when given.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// The expected settings error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedSettingsError {
    /// The exact path of the problem in the settings document.
    pub path: String,
    /// A substring of the message.
    pub message_contains: String,
}

/// What a case asks, once checked for consistency.
pub enum Check<'a> {
    /// Decide a user.
    User(&'a User, &'a ExpectedUser),
    /// Mark provider groups.
    Groups(&'a [String], &'a BTreeMap<String, Vec<String>>),
    /// Expect the settings to be refused.
    SettingsError(&'a ExpectedSettingsError),
}

impl Case {
    /// The one check this case makes, or why the case is malformed.
    pub fn check(&self) -> Result<Check<'_>, String> {
        match (&self.user, &self.expect, &self.groups, &self.expect_groups, &self.expect_settings_error) {
            (Some(user), Some(expect), None, None, None) => Ok(Check::User(user, expect)),
            (None, None, Some(groups), Some(expect), None) => Ok(Check::Groups(groups, expect)),
            (None, None, None, None, Some(expect)) => Ok(Check::SettingsError(expect)),
            _ => Err("a case needs exactly one of: `user` with `expect`, `groups` with `expect_groups`, \
                      or `expect_settings_error`"
                .to_owned()),
        }
    }
}

impl FixtureFile {
    /// Reads and parses a fixture file.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{} is not a valid fixture file: {e}", path.display()))
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// The fixture files named by `paths`: files as given, directories as their `*.json` files in
/// name order.
pub fn expand(paths: &[impl AsRef<Path>]) -> Result<Vec<std::path::PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        let path = path.as_ref();
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
            let mut found: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(format!("{} holds no *.json fixture files", path.display()));
            }
            files.extend(found);
        } else {
            files.push(path.to_owned());
        }
    }
    Ok(files)
}
