//! Running a realm's loaded rules on one input: a synchronous, pure function of the modules,
//! their prepared settings and the input (as cedar's `is_authorized` is). The realm's default
//! organization decides whatever kind of rules has no module.
//!
//! Deterministic: the same rules on the same input give the same outcome (modules get no clock
//! or randomness, and every evaluation runs in a fresh instance), which is what replays and
//! backtests rely on. Only `duration_us` differs between runs.

use std::time::Duration;

use muster_engine::{Budget, EvalError, Failure, PreparedSettings, RuleModule};
use muster_wire::{Context, GroupAssignment, Outcome, User, UserDecision, trace::TraceStep};

use super::outcome::{GroupsOutcome, ModuleRef, RealmOutcome, UserOutcome};

/// The rule name used when a realm's default organization decides.
pub const DEFAULT_ORGANIZATION_RULE: &str = "default organization";

/// A compiled module version with its prepared settings, ready to evaluate.
#[derive(Clone)]
pub struct LoadedModule {
    /// The compiled module.
    pub module: RuleModule,
    /// The settings as the module prepared them (at upload, or for a draft).
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
    /// The bounds each module runs under: the realm's limits within the operator's.
    pub budget: Budget,
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
#[error("{} rules {module} failed: {error}", kind.as_str())]
pub struct EvaluationError {
    /// User or group rules.
    pub kind: FailedRules,
    /// Which version, and its digest.
    pub module: ModuleRef,
    /// The engine's typed error.
    pub error: EvalError,
    /// Time spent in modules until the failure (the user rules' too when the group rules failed).
    pub duration: Duration,
    /// Fuel consumed until the failure, likewise.
    pub fuel: u64,
}

/// Runs `rules` on `user` in `context`.
pub fn evaluate(rules: &RealmRules, context: &Context, user: &User) -> Result<RealmOutcome, EvaluationError> {
    let mut duration = Duration::ZERO;
    let mut fuel = 0u64;
    let user_outcome = match &rules.user_rules {
        Some(loaded) => {
            let evaluation = loaded
                .module
                .evaluate_user_within(&loaded.settings, context, user, rules.budget)
                .map_err(|failure| failed(FailedRules::User, loaded, failure, duration, fuel))?;
            duration += evaluation.duration;
            fuel += evaluation.fuel_consumed;
            UserOutcome { decision: evaluation.output, trace: evaluation.trace, module: Some(loaded.reference.clone()) }
        }
        None => default_user_outcome(rules),
    };
    let groups_outcome = match &rules.group_rules {
        Some(loaded) => {
            let evaluation = loaded
                .module
                .evaluate_groups_within(&loaded.settings, context, &user.provider_groups, rules.budget)
                .map_err(|failure| failed(FailedRules::Group, loaded, failure, duration, fuel))?;
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

/// The failure of `loaded`, charged with what ran before it (`duration`, `fuel`).
fn failed(
    kind: FailedRules,
    loaded: &LoadedModule,
    failure: Failure,
    duration: Duration,
    fuel: u64,
) -> EvaluationError {
    EvaluationError {
        kind,
        module: loaded.reference.clone(),
        error: failure.error,
        duration: duration + failure.duration,
        fuel: fuel.saturating_add(failure.fuel_consumed),
    }
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

#[cfg(test)]
mod tests {
    use muster_engine::{Engine, EngineConfig};
    use muster_wire::{Outcome, Response, Trigger, codec};

    use super::*;

    const HEAP_START: u32 = 0x8000;
    const RESPONSE_AT: u32 = 1024;

    fn engine() -> Engine {
        Engine::new(EngineConfig::default()).unwrap()
    }

    fn context() -> Context {
        Context { realm: "entra".into(), trigger: Trigger::Login }
    }

    fn ada() -> User {
        User {
            user_name: "ada@acme.com".into(),
            email: Some("ada@acme.com".into()),
            attributes: [("department".to_owned(), vec!["Sales".to_owned()])].into(),
            provider_groups: vec!["sales-emea".into(), "all-staff".into()],
            ..User::default()
        }
    }

    fn rules(default_organization: Option<&str>) -> RealmRules {
        RealmRules {
            realm_id: "entra".into(),
            default_organization: default_organization.map(str::to_owned),
            user_rules: None,
            group_rules: None,
            budget: muster_engine::Limits::default().budget(),
        }
    }

    /// A hand-written user-rules module whose entry point runs `body` (which must leave the
    /// packed `(ptr << 32) | len` of a response on the stack, or trap).
    fn wat_module(body: &str, data: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const {HEAP_START}))
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (local.get $ptr))
  {data}
  (func (export "muster_user_rules") (param i32 i32) (result i64) {body}))"#
        ))
        .unwrap()
    }

    fn loaded(wasm: &[u8], settings: &[u8], version: i64) -> LoadedModule {
        let module = engine().load(wasm).unwrap();
        let settings = module.prepare_settings(settings).unwrap();
        LoadedModule {
            reference: ModuleRef { version, digest: module.digest().to_owned(), draft: false },
            module,
            settings,
        }
    }

    #[test]
    fn without_modules_the_default_organization_decides_users_and_groups() {
        let outcome = evaluate(&rules(Some("acme")), &context(), &ada()).unwrap();
        assert_eq!(outcome.user.decision.organization.as_deref(), Some("acme"));
        assert_eq!(outcome.user.decision.rule.as_deref(), Some(DEFAULT_ORGANIZATION_RULE));
        assert!(outcome.user.module.is_none());
        assert_eq!(outcome.groups.groups.len(), 2);
        assert!(outcome.groups.groups.iter().all(|g| g.organizations == ["acme"]));
        assert_eq!((outcome.fuel, outcome.duration_us), (0, 0));
    }

    #[test]
    fn without_modules_or_default_the_user_is_blocked_and_the_trace_says_why() {
        let outcome = evaluate(&rules(None), &context(), &ada()).unwrap();
        assert!(outcome.blocked());
        assert!(outcome.user.trace[0].check.contains("no default organization"), "{:?}", outcome.user.trace);
        assert!(outcome.groups.groups.iter().all(|g| g.organizations.is_empty()));
    }

    #[test]
    fn a_wat_module_decides_and_is_named_in_the_outcome() {
        let response = Response {
            result: Ok(UserDecision {
                organization: Some("acme-sales".into()),
                rule: Some("sales".into()),
                groups: vec!["all-managers".into()],
            }),
            trace: vec![TraceStep { rule: Some("sales".into()), check: "always".into(), outcome: Outcome::Matched }],
        };
        let bytes = codec::encode(&response).unwrap();
        let data: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        let packed = (u64::from(RESPONSE_AT) << 32) | bytes.len() as u64;
        let wasm =
            wat_module(&format!("(i64.const {packed:#x})"), &format!("(data (i32.const {RESPONSE_AT}) \"{data}\")"));
        let realm = RealmRules { user_rules: Some(loaded(&wasm, b"{}", 7)), ..rules(Some("acme")) };
        let outcome = evaluate(&realm, &context(), &ada()).unwrap();
        assert_eq!(outcome.user.decision, response.result.unwrap());
        assert_eq!(outcome.user.trace, response.trace);
        assert_eq!(outcome.user.module.as_ref().map(|m| m.version), Some(7));
        assert!(outcome.fuel > 0);
        assert_eq!(outcome.groups.groups[0].organizations, ["acme"], "group rules fall back on their own");
    }

    #[test]
    fn a_trapping_module_is_a_typed_failure_naming_kind_and_version() {
        let wasm = wat_module("unreachable", "");
        let realm = RealmRules { user_rules: Some(loaded(&wasm, b"{}", 3)), ..rules(Some("acme")) };
        let failure = evaluate(&realm, &context(), &ada()).unwrap_err();
        assert_eq!((failure.kind, failure.module.version), (FailedRules::User, 3));
        assert!(matches!(failure.error, EvalError::Trap(_)), "{:?}", failure.error);
    }

    #[test]
    fn the_stock_user_rules_module_decides_as_its_settings_say_and_the_same_twice() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/wasm/wasm32-unknown-unknown/wasm-release/user_rules.wasm");
        let wasm = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}; run scripts/build-policies first"));
        let settings = include_bytes!("../../../docs/demo/user-rules.json");
        let realm = RealmRules { user_rules: Some(loaded(&wasm, settings, 1)), ..rules(Some("acme")) };
        let mut user = ada();
        user.attributes.insert("title".into(), vec!["Regional Sales Manager".into()]);
        let first = evaluate(&realm, &context(), &user).unwrap();
        assert_eq!(first.user.decision.organization.as_deref(), Some("acme-sales"));
        assert_eq!(first.user.decision.rule.as_deref(), Some("sales"));
        assert!(first.user.decision.groups.contains(&"all-managers".to_owned()), "{:?}", first.user.decision);
        let second = evaluate(&realm, &context(), &user).unwrap();
        assert_eq!((&second.user, &second.groups, second.fuel), (&first.user, &first.groups, first.fuel));
    }
}
