//! What changed between a recorded decision and a new run of its input (a replay): which fields
//! differ, each with its before and after, so a reader need not compare two outputs by eye.

use muster_wire::TraceStep;
use serde::Serialize;

use super::outcome::{DecisionOutput, DecisionTrace, provider_group_marks};

/// A value as recorded and as replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed<T> {
    /// In the record.
    pub recorded: T,
    /// In the replay.
    pub replayed: T,
}

/// A provider group whose organizations differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderGroupChange {
    /// The group's name.
    pub name: String,
    /// Its organizations in the record (`None`: the record does not mark it).
    pub recorded: Option<Vec<String>>,
    /// Its organizations in the replay (`None`: the replay does not mark it).
    pub replayed: Option<Vec<String>>,
}

/// How one trace (of the user rules or of the group rules) differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceChange {
    /// Steps in the record.
    pub recorded_steps: usize,
    /// Steps in the replay.
    pub replayed_steps: usize,
    /// Index of the first step that differs, or that only one of them has.
    pub first_difference: usize,
    /// The record's step at that index, if it has one.
    pub recorded: Option<TraceStep>,
    /// The replay's step at that index, if it has one.
    pub replayed: Option<TraceStep>,
}

/// The structured difference of a replay. Every field is empty (`null`, `[]`) when that part is
/// the same; `changed` names the parts that are not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The parts that differ, in this order: `failure` (the record is of rules that failed, so
    /// it has no output to compare), `organization`, `rule`, `groups`, `provider_groups`,
    /// `user_trace`, `group_trace`. Empty: identical.
    pub changed: Vec<&'static str>,
    /// The primary organization (`null` in either: blocked).
    pub organization: Option<Changed<Option<String>>>,
    /// The rule that decided the organization.
    pub rule: Option<Changed<Option<String>>>,
    /// Rule-based groups the replay has and the record does not.
    pub groups_added: Vec<String>,
    /// Rule-based groups the record has and the replay does not.
    pub groups_removed: Vec<String>,
    /// Provider groups marked with other organizations, or marked by only one of them.
    pub provider_groups: Vec<ProviderGroupChange>,
    /// How the user rules' trace differs.
    pub user_trace: Option<TraceChange>,
    /// How the group rules' trace differs.
    pub group_trace: Option<TraceChange>,
}

impl Difference {
    /// What changed from the record (`recorded` is `None` when the rules failed then) to the
    /// replay.
    pub fn between(
        recorded: Option<&DecisionOutput>,
        recorded_trace: &DecisionTrace,
        replayed: &DecisionOutput,
        replayed_trace: &DecisionTrace,
    ) -> Difference {
        let mut difference = Difference {
            changed: Vec::new(),
            organization: None,
            rule: None,
            groups_added: Vec::new(),
            groups_removed: Vec::new(),
            provider_groups: Vec::new(),
            user_trace: trace_change(&recorded_trace.user, &replayed_trace.user),
            group_trace: trace_change(&recorded_trace.groups, &replayed_trace.groups),
        };
        match recorded {
            None => difference.changed.push("failure"),
            Some(recorded) => difference.compare_outputs(recorded, replayed),
        }
        if difference.user_trace.is_some() {
            difference.changed.push("user_trace");
        }
        if difference.group_trace.is_some() {
            difference.changed.push("group_trace");
        }
        difference
    }

    fn compare_outputs(&mut self, recorded: &DecisionOutput, replayed: &DecisionOutput) {
        let (before, after) = (&recorded.user, &replayed.user);
        if before.organization != after.organization {
            self.changed.push("organization");
            self.organization =
                Some(Changed { recorded: before.organization.clone(), replayed: after.organization.clone() });
        }
        if before.rule != after.rule {
            self.changed.push("rule");
            self.rule = Some(Changed { recorded: before.rule.clone(), replayed: after.rule.clone() });
        }
        self.groups_added = after.groups.iter().filter(|g| !before.groups.contains(g)).cloned().collect();
        self.groups_removed = before.groups.iter().filter(|g| !after.groups.contains(g)).cloned().collect();
        if !self.groups_added.is_empty() || !self.groups_removed.is_empty() {
            self.changed.push("groups");
        }
        let marks_before = provider_group_marks(&recorded.groups, before.organization.as_deref());
        let marks_after = provider_group_marks(&replayed.groups, after.organization.as_deref());
        let sorted = |organizations: &[String]| {
            let mut organizations = organizations.to_vec();
            organizations.sort();
            organizations
        };
        let mut names: Vec<&str> = marks_before.iter().map(|m| m.name.as_str()).collect();
        names.extend(
            marks_after.iter().map(|m| m.name.as_str()).filter(|name| !names.contains(name)).collect::<Vec<_>>(),
        );
        for name in names {
            let find = |marks: &[muster_store::ProviderGroupMark]| {
                marks.iter().find(|m| m.name == name).map(|m| sorted(&m.organizations))
            };
            let (was, is) = (find(&marks_before), find(&marks_after));
            if was != is {
                self.provider_groups.push(ProviderGroupChange { name: name.to_owned(), recorded: was, replayed: is });
            }
        }
        if !self.provider_groups.is_empty() {
            self.changed.push("provider_groups");
        }
    }
}

/// Where two traces part, if they do.
fn trace_change(recorded: &[TraceStep], replayed: &[TraceStep]) -> Option<TraceChange> {
    let first_difference = recorded
        .iter()
        .zip(replayed)
        .position(|(a, b)| a != b)
        .or_else(|| (recorded.len() != replayed.len()).then(|| recorded.len().min(replayed.len())))?;
    Some(TraceChange {
        recorded_steps: recorded.len(),
        replayed_steps: replayed.len(),
        first_difference,
        recorded: recorded.get(first_difference).cloned(),
        replayed: replayed.get(first_difference).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use muster_wire::{GroupAssignment, Outcome, UserDecision};

    use super::*;

    fn output(
        organization: Option<&str>,
        rule: Option<&str>,
        groups: &[&str],
        marks: &[(&str, Vec<&str>)],
    ) -> DecisionOutput {
        DecisionOutput {
            user: UserDecision {
                organization: organization.map(str::to_owned),
                rule: rule.map(str::to_owned),
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            },
            groups: marks
                .iter()
                .map(|(group, organizations)| GroupAssignment {
                    group: (*group).to_owned(),
                    organizations: organizations.iter().map(|o| (*o).to_owned()).collect(),
                    rule: None,
                })
                .collect(),
        }
    }

    fn step(rule: &str, outcome: Outcome) -> TraceStep {
        TraceStep { rule: Some(rule.into()), check: format!("{rule} checked"), outcome }
    }

    #[test]
    fn the_same_decision_has_no_difference() {
        let out = output(Some("acme"), Some("staff"), &["g"], &[("all", vec![])]);
        let trace = DecisionTrace { user: vec![step("staff", Outcome::Matched)], groups: vec![] };
        let difference = Difference::between(Some(&out), &trace, &out, &trace);
        assert!(difference.changed.is_empty(), "{difference:?}");
        assert_eq!((difference.organization, difference.user_trace), (None, None));
    }

    #[test]
    fn each_changed_field_is_named_with_its_before_and_after() {
        let recorded =
            output(None, None, &["a", "b"], &[("sales", vec!["acme-sales"]), ("all", vec![]), ("old", vec!["x"])]);
        let replayed =
            output(Some("acme"), Some("fallback"), &["b", "c"], &[("sales", vec!["acme-sales"]), ("all", vec![])]);
        let before = DecisionTrace {
            user: vec![step("sales", Outcome::NotMatched), step("staff", Outcome::NotMatched)],
            groups: vec![step("g", Outcome::Matched)],
        };
        let after = DecisionTrace {
            user: vec![
                step("sales", Outcome::NotMatched),
                step("staff", Outcome::NotMatched),
                step("fallback", Outcome::Note),
            ],
            groups: vec![step("g", Outcome::Matched)],
        };
        let difference = Difference::between(Some(&recorded), &before, &replayed, &after);
        assert_eq!(difference.changed, ["organization", "rule", "groups", "provider_groups", "user_trace"]);
        assert_eq!(difference.organization, Some(Changed { recorded: None, replayed: Some("acme".into()) }));
        assert_eq!(difference.rule, Some(Changed { recorded: None, replayed: Some("fallback".into()) }));
        assert_eq!((difference.groups_added, difference.groups_removed), (vec!["c".into()], vec!["a".into()]));
        // `all` has no organization of its own: it takes the user's, which changed.
        assert_eq!(
            difference.provider_groups,
            [
                ProviderGroupChange { name: "all".into(), recorded: Some(vec![]), replayed: Some(vec!["acme".into()]) },
                ProviderGroupChange { name: "old".into(), recorded: Some(vec!["x".into()]), replayed: None },
            ]
        );
        let trace = difference.user_trace.unwrap();
        assert_eq!((trace.recorded_steps, trace.replayed_steps, trace.first_difference), (2, 3, 2));
        assert_eq!((trace.recorded, trace.replayed), (None, Some(step("fallback", Outcome::Note))));
        assert_eq!(difference.group_trace, None);
    }

    #[test]
    fn a_failed_record_has_no_output_to_compare() {
        let replayed = output(Some("acme"), None, &[], &[]);
        let empty = DecisionTrace { user: vec![], groups: vec![] };
        let after = DecisionTrace { user: vec![step("r", Outcome::Matched)], groups: vec![] };
        let difference = Difference::between(None, &empty, &replayed, &after);
        assert_eq!(difference.changed, ["failure", "user_trace"]);
        assert_eq!(difference.organization, None);
    }
}
