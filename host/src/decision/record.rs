//! The decision record: everything needed to show, replay and backtest a decision, built in
//! this one place for every trigger (login, SCIM events) and for shadow runs.

use muster_store::{ids::random_id, model::DecisionRecord, model::Millis};
use muster_wire::Trigger;

use super::{
    input::CanonicalInput,
    outcome::{DecisionOutput, DecisionTrace, RealmOutcome},
};

/// How a recorded decision was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Applied to the user (a live decision).
    Applied,
    /// A shadow version's decision beside the live decision `of`, never applied.
    Shadow {
        /// The live decision's id.
        of: String,
        /// Whether its output differs from the live one.
        differs: bool,
    },
}

/// Which realm and user a decision is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The realm.
    pub realm_id: &'a str,
    /// The user, if the decision is about a stored one.
    pub user_id: Option<&'a str>,
}

/// A new decision record (with a fresh id) of `outcome` on `input`.
pub fn decision_record(
    subject: Subject<'_>,
    input: &CanonicalInput,
    outcome: &RealmOutcome,
    recorded: Recorded,
    now: Millis,
) -> Result<DecisionRecord, serde_json::Error> {
    let (applied, shadow, shadow_of, differs) = match recorded {
        Recorded::Applied => (true, false, None, None),
        Recorded::Shadow { of, differs } => (false, true, Some(of), Some(differs)),
    };
    Ok(DecisionRecord {
        id: random_id(12),
        tenant_id: subject.tenant_id.to_owned(),
        realm_id: subject.realm_id.to_owned(),
        user_id: subject.user_id.map(str::to_owned),
        trigger: trigger_name(input.context.trigger).to_owned(),
        applied,
        shadow,
        input: serde_json::to_string(input)?,
        user_rules_version: outcome.user.module.as_ref().map(|m| m.version),
        user_rules_digest: outcome.user.module.as_ref().map(|m| m.digest.clone()),
        group_rules_version: outcome.groups.module.as_ref().map(|m| m.version),
        group_rules_digest: outcome.groups.module.as_ref().map(|m| m.digest.clone()),
        output: serde_json::to_string(&DecisionOutput::of(outcome))?,
        trace: serde_json::to_string(&DecisionTrace::of(outcome))?,
        duration_us: outcome.duration_us,
        fuel: outcome.fuel,
        created_at: now,
        shadow_of,
        differs,
    })
}

/// The snake_case name of a trigger, as decision records store it and metrics label it.
pub fn trigger_name(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Login => "login",
        Trigger::ScimCreate => "scim_create",
        Trigger::ScimUpdate => "scim_update",
        Trigger::ScimGroupChange => "scim_group_change",
        Trigger::ScimReactivate => "scim_reactivate",
        Trigger::DryRun => "dry_run",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_names_are_the_wire_spelling() {
        for trigger in [
            Trigger::Login,
            Trigger::ScimCreate,
            Trigger::ScimUpdate,
            Trigger::ScimGroupChange,
            Trigger::ScimReactivate,
            Trigger::DryRun,
        ] {
            assert_eq!(serde_json::to_value(trigger).unwrap(), trigger_name(trigger));
        }
    }
}
