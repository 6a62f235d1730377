//! The traits a rule author implements.

use serde::{Serialize, de::DeserializeOwned};

use crate::{Context, GroupAssignment, MissingEntries, SettingsError, Trace, User, UserDecision};

/// A rule module: its settings type and how to check a settings document beyond its shape.
pub trait Policy {
    /// The tenant's settings document, parsed from JSON when the module is activated.
    type Settings: Serialize + DeserializeOwned;

    /// Checks what the type system cannot (rule names unique, organizations non-empty, …).
    /// A malformed document (wrong shape, bad regex) is already rejected before this runs.
    fn validate_settings(_settings: &Self::Settings) -> Result<(), SettingsError> {
        Ok(())
    }

    /// Runs once when an instance loads a version's settings (`muster_load_settings`), right
    /// after they are decoded: the place for work done once per version rather than per
    /// evaluation, such as compiling an interpreted script or building lookup tables into
    /// thread-local state. The host snapshots the instance after the load, so whatever this
    /// leaves in memory is where every evaluation of the version starts. An error fails the
    /// load as a settings error. Requests that carry their own settings (natively, or a module
    /// run without a snapshot) do not run it: rules must not rely on it having run.
    fn on_load(_settings: &Self::Settings) -> Result<(), SettingsError> {
        Ok(())
    }

    /// Which of the module's exported rules cannot run with `settings`, and why (at upload, the
    /// host refuses a version of a kind whose rules these settings leave nothing to run). Rules
    /// written in Rust run with any settings they accept and keep the default, nothing missing;
    /// a module whose rules come from its settings (an interpreted script that may define only
    /// some of them, say) overrides this.
    fn missing_entries(_settings: &Self::Settings) -> MissingEntries {
        MissingEntries::default()
    }
}

/// Decides a user's primary organization and rule-based groups.
pub trait UserRules: Policy {
    /// Decides about one user, recording in `trace` what was checked and why. `context` says
    /// which realm and what triggered the evaluation.
    fn decide_user(settings: &Self::Settings, user: &User, context: &Context, trace: &mut Trace) -> UserDecision;

    /// What the module answers: [`UserRules::decide_user`], or why the rules could not decide
    /// (the evaluation fails as a rule error with that message, and the host applies its failure
    /// policy). Rules written in Rust decide every input and keep the default; a module that
    /// runs rules it does not control (an interpreted script, say) overrides this.
    fn try_decide_user(
        settings: &Self::Settings,
        user: &User,
        context: &Context,
        trace: &mut Trace,
    ) -> Result<UserDecision, String> {
        Ok(Self::decide_user(settings, user, context, trace))
    }
}

/// Marks provider groups with organizations.
pub trait GroupRules: Policy {
    /// Decides about one provider group, recording in `trace` what was checked and why.
    fn decide_group(settings: &Self::Settings, group: &str, context: &Context, trace: &mut Trace) -> GroupAssignment;

    /// What the module answers for one group: [`GroupRules::decide_group`], or why the rules
    /// could not decide (the whole evaluation then fails as a rule error); see
    /// [`UserRules::try_decide_user`].
    fn try_decide_group(
        settings: &Self::Settings,
        group: &str,
        context: &Context,
        trace: &mut Trace,
    ) -> Result<GroupAssignment, String> {
        Ok(Self::decide_group(settings, group, context, trace))
    }
}
