//! What a realm's rules said about one user, and the effect that has on the user.

use muster_store::ProviderGroupMark;
use muster_wire::{GroupAssignment, UserDecision, trace::TraceStep};
use serde::{Deserialize, Serialize};

/// Which module version ran, for decision records and responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleRef {
    /// The version number in its realm.
    pub version: i64,
    /// SHA-256 of the module's bytes.
    pub digest: String,
    /// The module ran with a draft's settings instead of the version's own (a preview only;
    /// shown only when set).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub draft: bool,
}

impl std::fmt::Display for ModuleRef {
    /// `version 2`, or `draft of version 2`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.draft { write!(f, "draft of version {}", self.version) } else { write!(f, "version {}", self.version) }
    }
}

/// The decision about a user, with the trace and the module that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserOutcome {
    /// The decision.
    #[serde(flatten)]
    pub decision: UserDecision,
    /// Why.
    pub trace: Vec<TraceStep>,
    /// The module that decided, or `None` when the default organization (or nothing) did.
    pub module: Option<ModuleRef>,
}

/// The organizations of the user's provider groups, with the trace and the module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupsOutcome {
    /// One assignment per provider group.
    pub groups: Vec<GroupAssignment>,
    /// Why.
    pub trace: Vec<TraceStep>,
    /// The module that decided, or `None`.
    pub module: Option<ModuleRef>,
}

/// Everything a realm's rules said about one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RealmOutcome {
    /// Organization and rule-based groups.
    pub user: UserOutcome,
    /// Provider-group organizations.
    pub groups: GroupsOutcome,
    /// Total evaluation time in microseconds.
    pub duration_us: i64,
    /// Total fuel consumed.
    pub fuel: i64,
}

impl RealmOutcome {
    /// Whether the user is blocked (No organization).
    pub fn blocked(&self) -> bool {
        self.user.decision.organization.is_none()
    }

    /// The provider-group marks this outcome gives (see [`provider_group_marks`]).
    pub fn provider_group_marks(&self) -> Vec<ProviderGroupMark> {
        provider_group_marks(&self.groups.groups, self.user.decision.organization.as_deref())
    }

    /// Why the user is blocked, in words: the last note of the user rules' trace.
    pub fn blocked_reason(&self) -> String {
        let last_note = self.user.trace.iter().rev().find(|s| s.outcome == muster_wire::Outcome::Note);
        match last_note {
            Some(step) => format!("No organization: {}", step.check),
            None => "No organization: no rule gave the user an organization".into(),
        }
    }
}

/// Marks each provider group; a group the rules give No organization takes the organization
/// of this user, its most recent member to be decided.
pub fn provider_group_marks(
    assignments: &[GroupAssignment],
    user_organization: Option<&str>,
) -> Vec<ProviderGroupMark> {
    assignments
        .iter()
        .map(|assignment| ProviderGroupMark {
            name: assignment.group.clone(),
            organizations: if assignment.organizations.is_empty() {
                user_organization.map(str::to_owned).into_iter().collect()
            } else {
                assignment.organizations.clone()
            },
        })
        .collect()
}

/// The output part of a decision record: the decisions without their traces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionOutput {
    /// The user decision.
    pub user: UserDecision,
    /// The provider-group assignments.
    pub groups: Vec<GroupAssignment>,
}

impl DecisionOutput {
    /// The output of an outcome.
    pub fn of(outcome: &RealmOutcome) -> Self {
        Self { user: outcome.user.decision.clone(), groups: outcome.groups.groups.clone() }
    }
}

/// The trace part of a decision record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionTrace {
    /// Steps of the user rules.
    pub user: Vec<TraceStep>,
    /// Steps of the group rules.
    pub groups: Vec<TraceStep>,
}

impl DecisionTrace {
    /// The trace of an outcome.
    pub fn of(outcome: &RealmOutcome) -> Self {
        Self { user: outcome.user.trace.clone(), groups: outcome.groups.trace.clone() }
    }
}

/// What a decision does to a user, as previews and backtests compare it: organization,
/// rule-based groups and provider-group marks (not which rule matched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effect {
    /// The primary organization (`None`: blocked).
    pub organization: Option<String>,
    /// Rule-based groups.
    pub groups: Vec<String>,
    /// Each provider group with the organizations it is marked with.
    pub provider_groups: Vec<ProviderGroupMark>,
}

impl Effect {
    /// Every organization the effect names: the user's and its provider groups'.
    pub fn organizations(&self) -> impl Iterator<Item = &str> {
        self.organization
            .iter()
            .chain(self.provider_groups.iter().flat_map(|group| &group.organizations))
            .map(String::as_str)
    }

    /// The effect of a decision's output.
    pub fn of(output: DecisionOutput) -> Self {
        Self {
            provider_groups: provider_group_marks(&output.groups, output.user.organization.as_deref()),
            organization: output.user.organization,
            groups: output.user.groups,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_without_organizations_takes_its_members_organization() {
        let assignments = vec![
            GroupAssignment { group: "sales-emea".into(), organizations: vec!["acme-sales".into()], rule: None },
            GroupAssignment { group: "all-staff".into(), organizations: vec![], rule: None },
        ];
        let marks = provider_group_marks(&assignments, Some("acme"));
        assert_eq!(marks[0].organizations, ["acme-sales"]);
        assert_eq!(marks[1].organizations, ["acme"]);
        assert!(provider_group_marks(&assignments, None)[1].organizations.is_empty());
    }
}
