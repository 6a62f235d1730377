//! The traits a rule author implements.

use serde::{Serialize, de::DeserializeOwned};

use crate::{Context, GroupAssignment, SettingsError, Trace, User, UserDecision};

/// A rule module: its settings type and how to check a settings document beyond its shape.
pub trait Policy {
    /// The tenant's settings document, parsed from JSON when the module is activated.
    type Settings: Serialize + DeserializeOwned;

    /// Checks what the type system cannot (rule names unique, organizations non-empty, …).
    /// A malformed document (wrong shape, bad regex) is already rejected before this runs.
    fn validate_settings(_settings: &Self::Settings) -> Result<(), SettingsError> {
        Ok(())
    }
}

/// Decides a user's primary organization and rule-based groups.
pub trait UserRules: Policy {
    /// Decides about one user, recording in `trace` what was checked and why. `context` says
    /// which realm and what triggered the evaluation.
    fn decide_user(settings: &Self::Settings, user: &User, context: &Context, trace: &mut Trace) -> UserDecision;
}

/// Marks provider groups with organizations.
pub trait GroupRules: Policy {
    /// Decides about one provider group, recording in `trace` what was checked and why.
    fn decide_group(settings: &Self::Settings, group: &str, context: &Context, trace: &mut Trace) -> GroupAssignment;
}
