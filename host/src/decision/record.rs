//! The decision record: everything needed to show, replay and backtest a decision, built in
//! this one place for every trigger (login, SCIM events) and for shadow runs.
//!
//! A record is bounded: its input, output and trace, as stored (JSON), add up to at most the
//! configured `max_decision_record_bytes`. The trace gives way first: it is cut short with the
//! engine's marker step ([`muster_engine::trace::marker`]). A record too large even with no
//! trace left is refused ([`RecordError::TooLarge`]), and the decision with it.

use muster_engine::{Budget, trace};
use muster_store::{
    ids::random_id,
    model::{DecisionRecord, EvaluationLimits, FailedEvaluation, Millis},
};
use muster_wire::{TraceStep, Trigger};

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

/// Which realm and user a decision is about, and the bounds its rules ran under.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The realm.
    pub realm_id: &'a str,
    /// The user, if the decision is about a stored one.
    pub user_id: Option<&'a str>,
    /// The bounds the realm's rules ran under (`RuleRunner::budget`).
    pub budget: Budget,
}

/// The bounds of `budget` as a record keeps them.
pub fn recorded_limits(budget: Budget) -> EvaluationLimits {
    EvaluationLimits {
        fuel: budget.fuel,
        timeout_ms: u64::try_from(budget.timeout.as_millis()).unwrap_or(u64::MAX),
        max_memory_bytes: u64::try_from(budget.max_memory_bytes).unwrap_or(u64::MAX),
    }
}

/// Why no record could be made of a decision.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Its parts could not be written as JSON.
    #[error("the decision record could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
    /// Its input and output alone (with every trace step dropped) exceed the bound.
    #[error(
        "the decision's input and output take {size} bytes, leaving no room for its trace in a record of at most {limit} bytes"
    )]
    TooLarge {
        /// The bytes of its input and output.
        size: usize,
        /// The bound.
        limit: usize,
    },
}

/// A new decision record (with a fresh id) of `outcome` on `input`, whose input, output and
/// trace add up to at most `max_bytes` (the trace cut short if it must be).
pub fn decision_record(
    subject: Subject<'_>,
    input: &CanonicalInput,
    outcome: &RealmOutcome,
    recorded: Recorded,
    now: Millis,
    max_bytes: usize,
) -> Result<DecisionRecord, RecordError> {
    let (applied, shadow, shadow_of, differs) = match recorded {
        Recorded::Applied => (true, false, None, None),
        Recorded::Shadow { of, differs } => (false, true, Some(of), Some(differs)),
    };
    let input_json = serde_json::to_string(input)?;
    let output = serde_json::to_string(&DecisionOutput::of(outcome))?;
    let fixed = input_json.len() + output.len();
    let trace = bounded_trace(DecisionTrace::of(outcome), max_bytes.saturating_sub(fixed))?
        .ok_or(RecordError::TooLarge { size: fixed, limit: max_bytes })?;
    Ok(DecisionRecord {
        applied,
        shadow,
        user_rules_version: outcome.user.module.as_ref().map(|m| m.version),
        user_rules_digest: outcome.user.module.as_ref().map(|m| m.digest.clone()),
        group_rules_version: outcome.groups.module.as_ref().map(|m| m.version),
        group_rules_digest: outcome.groups.module.as_ref().map(|m| m.digest.clone()),
        output,
        trace,
        duration_us: outcome.duration_us,
        fuel: outcome.fuel,
        shadow_of,
        differs,
        ..head(subject, input, input_json, now)
    })
}

/// A record of `input` about `subject` made at `now`, with a fresh id: the head every record
/// shares ([`decision_record`], [`failure_record`]), and for the rest the record of nothing
/// (not applied, no modules, no output, an empty trace, no cost, no failure, no failure policy)
/// for them to fill.
fn head(subject: Subject<'_>, input: &CanonicalInput, input_json: String, now: Millis) -> DecisionRecord {
    DecisionRecord {
        id: random_id(12),
        tenant_id: subject.tenant_id.to_owned(),
        realm_id: subject.realm_id.to_owned(),
        user_id: subject.user_id.map(str::to_owned),
        trigger: trigger_name(input.context.trigger).to_owned(),
        applied: false,
        shadow: false,
        input: input_json,
        user_rules_version: None,
        user_rules_digest: None,
        group_rules_version: None,
        group_rules_digest: None,
        output: "null".to_owned(),
        trace: EMPTY_TRACE.to_owned(),
        duration_us: 0,
        fuel: 0,
        created_at: now,
        shadow_of: None,
        differs: None,
        failure: None,
        failure_policy: None,
        limits: Some(recorded_limits(subject.budget)),
    }
}

/// The stored trace of a record without one.
const EMPTY_TRACE: &str = r#"{"user":[],"groups":[]}"#;

/// A run of a realm's rules that failed: what its record keeps besides the input.
#[derive(Debug, Clone)]
pub struct FailedRun {
    /// The user-rules version that was to run, and its digest when known.
    pub user_rules: Option<(i64, Option<String>)>,
    /// The group-rules version that was to run, and its digest when known.
    pub group_rules: Option<(i64, Option<String>)>,
    /// Why it failed.
    pub failure: FailedEvaluation,
    /// Time spent in modules until the failure, in microseconds.
    pub duration_us: i64,
    /// Fuel consumed until the failure.
    pub fuel: i64,
}

/// A new record (with a fresh id) of rules that failed on `input`: never applied, no output
/// (`null`), an empty trace, and the failure. Small and bounded whatever the module did (its
/// message is cut to [`MAX_FAILURE_MESSAGE_BYTES`]).
pub fn failure_record(
    subject: Subject<'_>,
    input: &CanonicalInput,
    run: FailedRun,
    recorded: Recorded,
    now: Millis,
) -> Result<DecisionRecord, RecordError> {
    let (shadow, shadow_of) = match recorded {
        Recorded::Applied => (false, None),
        Recorded::Shadow { of, .. } => (true, Some(of)),
    };
    let mut failure = run.failure;
    failure.message = cut(failure.message, MAX_FAILURE_MESSAGE_BYTES);
    let (user_rules_version, user_rules_digest) = run.user_rules.unzip();
    let (group_rules_version, group_rules_digest) = run.group_rules.unzip();
    Ok(DecisionRecord {
        shadow,
        user_rules_version,
        user_rules_digest: user_rules_digest.flatten(),
        group_rules_version,
        group_rules_digest: group_rules_digest.flatten(),
        duration_us: run.duration_us,
        fuel: run.fuel,
        shadow_of,
        failure: Some(failure),
        ..head(subject, input, serde_json::to_string(input)?, now)
    })
}

/// The longest failure message a record keeps, in bytes (a guest's panic message is the
/// guest's to choose).
pub const MAX_FAILURE_MESSAGE_BYTES: usize = 4096;

/// `text` cut to at most `max` bytes on a character boundary, with `…` when it was cut.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max.saturating_sub('…'.len_utf8());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Room kept for the record's two marker steps and the trace's own brackets when cutting it.
const MARKERS_ROOM: usize = 320;

/// `trace` as JSON in at most `budget` bytes: whole if it fits, else the longest prefix of the
/// user steps, then of the group steps, that leaves room for a marker after each list that lost
/// steps (or, if that still does not fit, only the markers); `None` if not even the markers fit.
fn bounded_trace(trace: DecisionTrace, budget: usize) -> Result<Option<String>, serde_json::Error> {
    let whole = serde_json::to_string(&trace)?;
    if whole.len() <= budget {
        return Ok(Some(whole));
    }
    let steps_budget = budget.saturating_sub(MARKERS_ROOM);
    let mut cut = trace.clone();
    trace::truncate(&mut cut.user, usize::MAX, steps_budget, json_len);
    let used: usize = cut.user.iter().map(json_len).sum();
    trace::truncate(&mut cut.groups, usize::MAX, steps_budget.saturating_sub(used), json_len);
    let cut = serde_json::to_string(&cut)?;
    if cut.len() <= budget {
        return Ok(Some(cut));
    }
    let mut markers = trace;
    trace::truncate(&mut markers.user, 0, 0, json_len);
    trace::truncate(&mut markers.groups, 0, 0, json_len);
    let markers = serde_json::to_string(&markers)?;
    Ok(Some(markers).filter(|markers| markers.len() <= budget))
}

/// A step's size in the stored trace: its JSON and the comma after it.
fn json_len(step: &TraceStep) -> usize {
    serde_json::to_string(step).map_or(usize::MAX, |json| json.len() + 1)
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

    fn steps(count: usize, check: &str) -> Vec<TraceStep> {
        let step = TraceStep { rule: Some("r".into()), check: check.into(), outcome: muster_wire::Outcome::Matched };
        vec![step; count]
    }

    #[test]
    fn a_trace_over_the_budget_keeps_a_prefix_of_each_part_and_a_marker_within_the_budget() {
        let trace = DecisionTrace { user: steps(1000, "user check"), groups: steps(1000, "group check") };
        let whole = serde_json::to_string(&trace).unwrap();
        assert_eq!(bounded_trace(trace.clone(), whole.len()).unwrap().unwrap(), whole, "a trace that fits is whole");

        for budget in [whole.len() - 1, whole.len() / 2, 5000, 1000] {
            let cut: DecisionTrace =
                serde_json::from_str(&bounded_trace(trace.clone(), budget).unwrap().unwrap()).unwrap();
            assert!(serde_json::to_string(&cut).unwrap().len() <= budget, "{budget}");
            for (part, original) in [(&cut.user, &trace.user), (&cut.groups, &trace.groups)] {
                if part == original {
                    continue;
                }
                let (marker, kept) = part.split_last().unwrap();
                assert_eq!(kept, &original[..kept.len()], "{budget}: a prefix");
                assert!(marker.check.starts_with("trace truncated: "), "{budget}: {marker:?}");
            }
        }
        let cut: DecisionTrace = serde_json::from_str(&bounded_trace(trace.clone(), 250).unwrap().unwrap()).unwrap();
        assert_eq!((cut.user.len(), cut.groups.len()), (1, 1), "only the markers fit");
        assert_eq!(bounded_trace(trace, 100).unwrap(), None, "not even the markers fit");
    }

    #[test]
    fn a_failure_is_recorded_small_unapplied_and_with_its_message_cut() {
        let input = CanonicalInput {
            context: muster_wire::Context { realm: "entra".into(), trigger: Trigger::Login },
            user: muster_wire::User { user_name: "ada".into(), ..Default::default() },
        };
        let run = FailedRun {
            user_rules: Some((3, Some("ab".repeat(32)))),
            group_rules: Some((1, None)),
            failure: FailedEvaluation { kind: "guest_panic".into(), message: "é".repeat(5000) },
            duration_us: 120,
            fuel: 4567,
        };
        let budget = muster_engine::Limits::default().budget();
        let subject = Subject { tenant_id: "acme", realm_id: "entra", user_id: Some("u1"), budget };
        let record = failure_record(subject, &input, run, Recorded::Applied, 9).unwrap();
        assert!(!record.applied && !record.shadow);
        assert_eq!((record.output.as_str(), record.fuel, record.duration_us), ("null", 4567, 120));
        assert_eq!((record.user_rules_version, record.group_rules_version), (Some(3), Some(1)));
        assert_eq!(record.group_rules_digest, None);
        let trace: DecisionTrace = serde_json::from_str(&record.trace).unwrap();
        assert_eq!(trace, DecisionTrace { user: vec![], groups: vec![] }, "an empty trace, as JSON");
        let failure = record.failure.unwrap();
        assert!(failure.message.len() <= MAX_FAILURE_MESSAGE_BYTES && failure.message.ends_with('…'));
        assert_eq!(serde_json::from_str::<CanonicalInput>(&record.input).unwrap(), input, "the input replays");
        assert_eq!(record.limits, Some(recorded_limits(budget)), "the bounds it ran under");
    }

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
