//! Running a realm's loaded rules on one input: a synchronous, pure function of the modules,
//! their prepared settings and the input (as cedar's `is_authorized` is). The realm's default
//! organization decides whatever kind of rules has no module.
//!
//! Deterministic: the same rules on the same input give the same outcome (modules get no clock
//! or randomness, and every evaluation runs in a fresh instance), which is what replays and
//! backtests rely on. Only `duration_us` differs between runs.

use std::time::Duration;

use muster_engine::{EvalError, PreparedSettings, RuleModule};
use muster_wire::{Context, GroupAssignment, Outcome, User, UserDecision, trace::TraceStep};

use super::outcome::{GroupsOutcome, ModuleRef, RealmOutcome, UserOutcome};

/// The rule name used when a realm's default organization decides.
pub const DEFAULT_ORGANIZATION_RULE: &str = "default organization";

/// A compiled module version with its prepared settings, ready to evaluate.
#[derive(Clone)]
pub struct LoadedModule {
    /// The compiled module.
    pub module: RuleModule,
    /// The settings as the module prepared them at upload.
    pub settings: PreparedSettings,
    /// Which version this is.
    pub reference: ModuleRef,
}

/// A realm's rules as loaded for one evaluation: a module per kind, or the fallback.
#[derive(Clone)]
pub struct RealmRules {
    /// The realm's id (for the trace of the fallback).
    pub realm_id: String,
    /// The organization every user and group goes to when no module of its kind runs.
    pub default_organization: Option<String>,
    /// User rules (`None`: the default organization decides).
    pub user_rules: Option<LoadedModule>,
    /// Group rules (`None`: the default organization marks every group).
    pub group_rules: Option<LoadedModule>,
}

/// Which kind of rules failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedRules {
    /// The user rules.
    User,
    /// The group rules.
    Group,
}

impl FailedRules {
    /// `user` or `group`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailedRules::User => "user",
            FailedRules::Group => "group",
        }
    }
}

/// A module failed on this input.
#[derive(Debug, thiserror::Error)]
#[error("{} rules version {version} failed: {error}", kind.as_str())]
pub struct EvaluationError {
    /// User or group rules.
    pub kind: FailedRules,
    /// Which version.
    pub version: i64,
    /// The engine's typed error.
    pub error: EvalError,
}

/// Runs `rules` on `user` in `context`.
pub fn evaluate(rules: &RealmRules, context: &Context, user: &User) -> Result<RealmOutcome, EvaluationError> {
    let mut duration = Duration::ZERO;
    let mut fuel = 0u64;
    let user_outcome = match &rules.user_rules {
        Some(loaded) => {
            let evaluation = loaded.module.evaluate_user(&loaded.settings, context, user).map_err(|error| {
                EvaluationError { kind: FailedRules::User, version: loaded.reference.version, error }
            })?;
            duration += evaluation.duration;
            fuel += evaluation.fuel_consumed;
            UserOutcome { decision: evaluation.output, trace: evaluation.trace, module: Some(loaded.reference.clone()) }
        }
        None => default_user_outcome(rules),
    };
    let groups_outcome = match &rules.group_rules {
        Some(loaded) => {
            let evaluation =
                loaded.module.evaluate_groups(&loaded.settings, context, &user.provider_groups).map_err(|error| {
                    EvaluationError { kind: FailedRules::Group, version: loaded.reference.version, error }
                })?;
            duration += evaluation.duration;
            fuel += evaluation.fuel_consumed;
            GroupsOutcome {
                groups: evaluation.output.groups,
                trace: evaluation.trace,
                module: Some(loaded.reference.clone()),
            }
        }
        None => default_groups_outcome(rules, &user.provider_groups),
    };
    Ok(RealmOutcome {
        user: user_outcome,
        groups: groups_outcome,
        duration_us: i64::try_from(duration.as_micros()).unwrap_or(i64::MAX),
        fuel: i64::try_from(fuel).unwrap_or(i64::MAX),
    })
}

fn note(rule: Option<&str>, check: String) -> TraceStep {
    TraceStep { rule: rule.map(str::to_owned), check, outcome: Outcome::Note }
}

fn default_user_outcome(rules: &RealmRules) -> UserOutcome {
    let (decision, trace) = match &rules.default_organization {
        Some(organization) => (
            UserDecision {
                organization: Some(organization.clone()),
                rule: Some(DEFAULT_ORGANIZATION_RULE.into()),
                groups: Vec::new(),
            },
            note(
                Some(DEFAULT_ORGANIZATION_RULE),
                format!("realm {} sends every user to {organization}", rules.realm_id),
            ),
        ),
        None => (
            UserDecision::default(),
            note(
                None,
                format!(
                    "realm {} has no active user rules and no default organization: No organization",
                    rules.realm_id
                ),
            ),
        ),
    };
    UserOutcome { decision, trace: vec![trace], module: None }
}

fn default_groups_outcome(rules: &RealmRules, groups: &[String]) -> GroupsOutcome {
    let organizations: Vec<String> = rules.default_organization.iter().cloned().collect();
    let rule = rules.default_organization.as_ref().map(|_| DEFAULT_ORGANIZATION_RULE.to_owned());
    let trace = match &rules.default_organization {
        Some(organization) if !groups.is_empty() => vec![note(
            rule.as_deref(),
            format!("realm {} marks every provider group with {organization}", rules.realm_id),
        )],
        _ => Vec::new(),
    };
    let groups = groups
        .iter()
        .map(|group| GroupAssignment { group: group.clone(), organizations: organizations.clone(), rule: rule.clone() })
        .collect();
    GroupsOutcome { groups, trace, module: None }
}
