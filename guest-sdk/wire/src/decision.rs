//! What a module answers.

use serde::{Deserialize, Serialize};

use crate::trace::TraceStep;

/// The decision about one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UserDecision {
    /// The user's primary organization, or `None` for *No organization*, which blocks the login.
    pub organization: Option<String>,
    /// The rule that decided, as the module names it (`None` when no rule matched).
    #[serde(default)]
    pub rule: Option<String>,
    /// Internal groups the rules put the user in (rule-based groups).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The organizations one provider group is marked with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GroupAssignment {
    /// The provider group's name.
    pub group: String,
    /// Its organizations; empty means *No organization*: the group then takes the organization
    /// of its most recent member to log in.
    #[serde(default)]
    pub organizations: Vec<String>,
    /// The rule that decided, as the module names it.
    #[serde(default)]
    pub rule: Option<String>,
}

/// The decision about a set of provider groups, one assignment per requested group, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GroupDecision {
    /// One assignment per requested group.
    pub groups: Vec<GroupAssignment>,
}

/// A settings document the module refuses, with the place of the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsError {
    /// Where in the settings document, as a JSON pointer-like path (`/rules/3/condition`), or
    /// empty for the whole document.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl core::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "at {}: {}", self.path, self.message) }
    }
}

/// Which of a module's exported rules cannot run with a settings document, and why: a module
/// whose rules come from its settings (a script, say) may export both entries yet be given
/// settings that decide only users. `None` for an entry that can run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MissingEntries {
    /// Why the user rules cannot run with these settings.
    #[serde(default)]
    pub user_rules: Option<SettingsError>,
    /// Why the group rules cannot run with these settings.
    #[serde(default)]
    pub group_rules: Option<SettingsError>,
}

/// A failure a module reports instead of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GuestError {
    /// The settings document is invalid.
    Settings(SettingsError),
    /// The request could not be decoded (a host/module ABI disagreement).
    Request(String),
    /// The rule itself failed.
    Rule(String),
}

impl core::fmt::Display for GuestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GuestError::Settings(e) => write!(f, "invalid settings {e}"),
            GuestError::Request(m) => write!(f, "request not understood: {m}"),
            GuestError::Rule(m) => write!(f, "rule failed: {m}"),
        }
    }
}

/// Every module answer: a result and the trace recorded on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response<T> {
    /// The decision, or why there is none.
    pub result: Result<T, GuestError>,
    /// The steps the module recorded, in order.
    pub trace: Vec<TraceStep>,
}
