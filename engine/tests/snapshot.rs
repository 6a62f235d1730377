//! Settings snapshots (`Engine::snapshot_settings`, docs/abi.md "Settings snapshots"): every
//! fresh instance of a snapshot starts with the state `muster_load_settings` left (regex handles
//! included), its requests carry no settings, and loading the settings runs under the same
//! budgets as an evaluation.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod support;

use muster_engine::{EvalError, LoadError, PreparedSettings, RuleModule};
use muster_wire::{Context, Outcome, Response, TraceStep, UserDecision};
use support::*;

/// Where the test module keeps its state: whether settings were loaded, the regex handle, and
/// how many evaluations this instance has run.
const LOADED_AT: u32 = SCRATCH_AT;
const HANDLE_AT: u32 = SCRATCH_AT + 4;
const COUNT_AT: u32 = SCRATCH_AT + 8;
const PATTERN_AT: u32 = SCRATCH_AT + 64;
const TEXT_AT: u32 = SCRATCH_AT + 128;
const ERROR_AT: u32 = SCRATCH_AT + 256;
const PATTERN: &str = "^ada@";
const TEXT: &str = "ada@acme.com";

/// What the test module answers, each a decision naming its case.
#[derive(Clone, Copy)]
enum Answer {
    /// `muster_load_settings` succeeded.
    Loaded,
    /// An evaluation in an instance that loaded no settings.
    NotLoaded,
    /// An evaluation whose request carried settings.
    Carried,
    /// An evaluation in an instance that had run one before: state leaked between evaluations.
    Leaked,
    /// The loaded regex handle matched the text.
    Matched,
}

impl Answer {
    const ALL: [Answer; 5] = [Answer::Loaded, Answer::NotLoaded, Answer::Carried, Answer::Leaked, Answer::Matched];

    fn organization(self) -> &'static str {
        match self {
            Answer::Loaded => "loaded",
            Answer::NotLoaded => "not-loaded",
            Answer::Carried => "carried",
            Answer::Leaked => "leaked",
            Answer::Matched => "matched",
        }
    }

    fn bytes(self) -> Vec<u8> {
        match self {
            Answer::Loaded => encode(&Response { result: Ok(()), trace: vec![] }),
            answer => encode(&Response {
                result: Ok(UserDecision {
                    organization: Some(answer.organization().into()),
                    rule: Some("r".into()),
                    groups: vec![],
                }),
                trace: vec![TraceStep { rule: None, check: answer.organization().into(), outcome: Outcome::Note }],
            }),
        }
    }

    /// Where its bytes lie in the module's memory: 256 bytes apiece from [`RESPONSE_AT`].
    fn at(self) -> u32 {
        RESPONSE_AT + 256 * Answer::ALL.iter().position(|a| a.organization() == self.organization()).unwrap() as u32
    }

    fn packed(self) -> String {
        packed(self.at(), self.bytes().len() as u32)
    }
}

/// A module whose `muster_load_settings` runs `load` (which must leave nothing on the stack)
/// and then records that it loaded, compiling [`PATTERN`]; its user rules answer which
/// [`Answer`] applies.
fn module_loading_with(load: &str) -> Vec<u8> {
    let data: String =
        Answer::ALL.iter().map(|a| format!("(data (i32.const {}) {})\n", a.at(), wat_bytes(&a.bytes()))).collect();
    rule_module_with_imports(
        r#"(import "muster" "regex_compile" (func $regex_compile (param i32 i32 i32 i32) (result i32)))
           (import "muster" "regex_is_match" (func $regex_is_match (param i32 i32 i32) (result i32)))"#,
        &format!(
            r#"{data}
  (data (i32.const {PATTERN_AT}) "{PATTERN}")
  (data (i32.const {TEXT_AT}) "{TEXT}")
  (func (export "muster_load_settings") (param $ptr i32) (param $len i32) (result i64)
    {load}
    (i32.store (i32.const {LOADED_AT}) (i32.const 1))
    (i32.store (i32.const {HANDLE_AT})
      (call $regex_compile (i32.const {PATTERN_AT}) (i32.const {pattern_len}) (i32.const {ERROR_AT}) (i32.const 64)))
    (i64.const {loaded}))
  (func (export "muster_user_rules") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.eqz (i32.load (i32.const {LOADED_AT}))) (then (return (i64.const {not_loaded}))))
    ;; The request is (context, settings, user); the default context is two bytes, so the
    ;; third is the length of the settings.
    (if (i32.load8_u (i32.add (local.get $ptr) (i32.const 2))) (then (return (i64.const {carried}))))
    (i32.store (i32.const {COUNT_AT}) (i32.add (i32.load (i32.const {COUNT_AT})) (i32.const 1)))
    (if (i32.ne (i32.load (i32.const {COUNT_AT})) (i32.const 1)) (then (return (i64.const {leaked}))))
    (if (call $regex_is_match (i32.load (i32.const {HANDLE_AT})) (i32.const {TEXT_AT}) (i32.const {text_len}))
      (then (return (i64.const {matched}))))
    unreachable)"#,
            pattern_len = PATTERN.len(),
            text_len = TEXT.len(),
            loaded = Answer::Loaded.packed(),
            not_loaded = Answer::NotLoaded.packed(),
            carried = Answer::Carried.packed(),
            leaked = Answer::Leaked.packed(),
            matched = Answer::Matched.packed(),
        ),
    )
}

/// The module whose settings load at once.
fn loading_module() -> Vec<u8> {
    module_loading_with("")
}

fn settings() -> PreparedSettings {
    PreparedSettings(b"tenant settings".to_vec())
}

/// The organization `module` decides with `settings`.
fn decided(module: &RuleModule, settings: &PreparedSettings) -> String {
    let evaluation = module.evaluate_user(settings, &Context::default(), &user()).unwrap();
    evaluation.output.organization.unwrap()
}

#[test]
fn every_fresh_instance_of_a_snapshot_starts_with_the_loaded_settings_and_regex_handles() {
    let engine = engine();
    let module = engine.load(&loading_module()).unwrap();
    assert!(module.takes_snapshots());
    assert_eq!(module.loaded_settings(), None);
    // As uploaded, nothing is loaded in a fresh instance.
    assert_eq!(decided(&module, &settings()), "not-loaded");

    let snapshot = engine.snapshot_settings(&module, &settings()).unwrap();
    assert_eq!(snapshot.loaded_settings(), Some(&settings()));
    assert!(!snapshot.takes_snapshots());
    assert_eq!(snapshot.digest(), module.digest(), "a snapshot is named by its module");
    // Each evaluation starts again from the snapshot: the count is 1 every time, and the handle
    // the settings compiled matches in every instance.
    let first = snapshot.evaluate_user(&settings(), &Context::default(), &user()).unwrap();
    let second = snapshot.evaluate_user(&settings(), &Context::default(), &user()).unwrap();
    assert_eq!(first.output.organization.as_deref(), Some("matched"));
    assert_eq!((&second.output, &second.trace), (&first.output, &first.trace));
    assert_eq!(second.fuel_consumed, first.fuel_consumed, "fuel stays deterministic");
    // The module it came from is unchanged.
    assert_eq!(decided(&module, &settings()), "not-loaded");
    assert_host_still_fine(&engine);
}

#[test]
fn a_snapshot_given_other_settings_hands_them_over() {
    let engine = engine();
    let snapshot = engine.snapshot_settings(&engine.load(&loading_module()).unwrap(), &settings()).unwrap();
    assert_eq!(decided(&snapshot, &PreparedSettings(b"other settings".to_vec())), "carried");
    // Snapshotting a snapshot changes nothing.
    let again = engine.snapshot_settings(&snapshot, &PreparedSettings(b"other settings".to_vec())).unwrap();
    assert_eq!(again.loaded_settings(), Some(&settings()));
}

#[test]
fn a_module_without_load_settings_runs_as_uploaded() {
    let engine = engine();
    let module = engine.load(&well_behaved_module()).unwrap();
    assert!(!module.takes_snapshots());
    let same = engine.snapshot_settings(&module, &PreparedSettings(b"{}".to_vec())).unwrap();
    assert_eq!(same.loaded_settings(), None);
    let evaluation = evaluate(&same).unwrap();
    assert_eq!(Ok(evaluation.output), good_response().result);
}

#[test]
fn loading_settings_runs_under_the_evaluation_budgets() {
    let engine = engine();
    let endless = engine.load(&module_loading_with("(loop $forever (br $forever))")).unwrap();
    match engine.snapshot_settings(&endless, &settings()) {
        Err(LoadError::Startup(error)) => assert!(
            matches!(*error, EvalError::FuelExhausted { .. } | EvalError::Timeout(_)),
            "an endless load ends on its budget, not {error}"
        ),
        Err(other) => panic!("expected a startup error, got {other}"),
        Ok(_) => panic!("an endless load made a snapshot"),
    }
    let hungry = engine.load(&module_loading_with("(drop (memory.grow (i32.const 1000)))")).unwrap();
    // Growing past the memory cap fails the growth; the snapshot then holds only what fits.
    let snapshot = engine.snapshot_settings(&hungry, &settings()).unwrap();
    assert_eq!(decided(&snapshot, &settings()), "matched");
    let trapping = engine.load(&module_loading_with("unreachable")).unwrap();
    let error = engine.snapshot_settings(&trapping, &settings()).err().expect("a trapping load fails");
    assert_mentions(&error, &["unreachable"]);
    assert_host_still_fine(&engine);
}

#[test]
fn a_snapshot_is_compiled_once_and_then_read_from_the_disk_cache() {
    let dir = TempDir::new("snapshot");
    let entries = || std::fs::read_dir(dir.path()).unwrap().count();
    let engine = engine_caching_in(dir.path());
    let module = engine.load(&loading_module()).unwrap();
    assert_eq!(entries(), 1);
    engine.snapshot_settings(&module, &settings()).unwrap();
    assert_eq!(entries(), 2, "the snapshot's code is cached beside its module's");
    drop(engine);
    let restarted = engine_caching_in(dir.path());
    let module = restarted.load(&loading_module()).unwrap();
    assert!(module.takes_snapshots(), "a module read from the cache can still be snapshotted");
    let snapshot = restarted.snapshot_settings(&module, &settings()).unwrap();
    assert_eq!(entries(), 2);
    assert_eq!(decided(&snapshot, &settings()), "matched");
}
