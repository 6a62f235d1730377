//! Scripts that try to break out of their budget, or break the module, run through the real
//! engine on the compiled module (with a settings snapshot, as the service runs them): each ends
//! as a typed error, never as a crash, and a well-behaved script decides deterministically.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::sync::OnceLock;

use muster_engine::{Engine, EngineConfig, EvalError, Evaluation, PreparedSettings, RuleModule};
use muster_wire::{Context, GroupDecision, User, UserDecision};

/// The built module, loaded once into an engine with default limits.
fn module() -> &'static (Engine, RuleModule, Vec<u8>) {
    static MODULE: OnceLock<(Engine, RuleModule, Vec<u8>)> = OnceLock::new();
    MODULE.get_or_init(|| {
        // Refuses a stale module, saying how to rebuild it.
        drop(muster_harness::Wasm::built("js_rules"));
        let bytes = std::fs::read(muster_harness::subject::built_artifact("js_rules")).unwrap();
        let engine = Engine::new(EngineConfig::default()).unwrap();
        let module = engine.load(&bytes).unwrap();
        (engine, module, bytes)
    })
}

fn prepare(script: &str) -> Result<PreparedSettings, EvalError> {
    let settings = serde_json::json!({ "script": script, "config": { "organization": "acme" } });
    module().1.prepare_settings(&serde_json::to_vec(&settings).unwrap())
}

/// Prepares `script`, snapshots the module with it loaded and decides about a user.
fn decide(script: &str) -> Result<Evaluation<UserDecision>, EvalError> {
    let (engine, module, _) = module();
    let settings = prepare(script).unwrap();
    let snapshot = engine.snapshot_settings(module, &settings).unwrap();
    snapshot.evaluate_user(
        &settings,
        &Context::default(),
        &User { user_name: "ada@acme.com".into(), ..User::default() },
    )
}

fn groups(script: &str, groups: &[String]) -> Result<Evaluation<GroupDecision>, EvalError> {
    let (engine, module, _) = module();
    let settings = prepare(script).unwrap();
    let snapshot = engine.snapshot_settings(module, &settings).unwrap();
    snapshot.evaluate_groups(&settings, &Context::default(), groups)
}

/// The message of the rule error `decide(script)` must end with.
fn rule_error(script: &str) -> String {
    match decide(script) {
        Err(EvalError::Guest(message)) => message,
        other => panic!("expected a rule error, got {:?}", other.map(|e| e.output)),
    }
}

fn in_decide_user(body: &str) -> String {
    format!("export function decideUser(user, context) {{\n{body}\n}}\n")
}

#[test]
fn the_module_imports_only_the_hosts_functions() {
    let mut imports = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&module().2) {
        if let wasmparser::Payload::ImportSection(section) = payload.unwrap() {
            for import in section.into_imports() {
                let import = import.unwrap();
                imports.push(format!("{}.{}", import.module, import.name));
            }
        }
    }
    assert!(imports.iter().all(|import| import.starts_with("muster.")), "{imports:?}");
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let result = decide(&in_decide_user("while (true) {}"));
    assert!(
        matches!(result, Err(EvalError::FuelExhausted { .. } | EvalError::Timeout(_))),
        "{:?}",
        result.map(|e| e.output)
    );
}

#[test]
fn an_endless_top_level_is_refused_when_the_settings_are_prepared() {
    let result = prepare("for (;;) {}\nexport function decideUser() {}");
    assert!(matches!(result, Err(EvalError::FuelExhausted { .. } | EvalError::Timeout(_))), "{result:?}");
}

#[test]
fn deep_recursion_ends_as_a_stack_overflow() {
    let result = decide(&in_decide_user("const down = (n) => down(n + 1) + 1;\nreturn down(0);"));
    match result {
        Err(EvalError::Guest(message)) => {
            assert!(message.contains("RangeError: Maximum call stack size exceeded"), "{message}")
        }
        Err(EvalError::StackOverflow) => {}
        other => panic!("expected a stack overflow, got {:?}", other.map(|e| e.output)),
    }
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    // ArrayBuffers: memory grows by 8 MiB a turn for little fuel, so memory runs out first.
    let result = decide(&in_decide_user("const hoard = [];\nfor (;;) hoard.push(new ArrayBuffer(8 << 20));"));
    match result {
        Err(EvalError::ResourceLimit { resource: "memory", .. }) => {}
        Err(EvalError::Guest(message)) => assert!(message.contains("out of memory"), "{message}"),
        other => panic!("expected the memory limit, got {:?}", other.map(|e| e.output)),
    }
}

#[test]
fn a_huge_decision_hits_the_output_limit() {
    let result =
        decide(&in_decide_user("return { organization: 'acme', groups: new Array(20).fill('x'.repeat(100000)) };"));
    match result {
        Err(error) => assert!(error.to_string().contains("the limit is 1048576 bytes"), "{error}"),
        Ok(evaluation) => panic!("expected the output limit, got {} groups", evaluation.output.groups.len()),
    }
}

#[test]
fn throwing_an_error_names_it_and_where() {
    let message = rule_error(&in_decide_user("  const x = 1;\n  throw new TypeError(`bad ${x}`);"));
    assert!(message.starts_with("rule failed: decideUser threw TypeError: bad 1 at rules.js:3:"), "{message}");
}

#[test]
fn throwing_what_is_not_an_error_says_what_was_thrown() {
    for (thrown, expected) in [
        ("'boom'", "decideUser threw a string, not an Error: \"boom\""),
        ("42", "decideUser threw a number, not an Error: 42"),
        ("({ code: 7 })", "decideUser threw an object, not an Error: {\"code\":7}"),
        ("undefined", "decideUser threw undefined, not an Error"),
        ("null", "decideUser threw null, not an Error"),
    ] {
        let message = rule_error(&in_decide_user(&format!("throw {thrown};")));
        assert!(message.contains(expected), "{thrown}: {message}");
    }
}

#[test]
fn a_wrong_decision_names_the_wrong_field() {
    for (returned, expected) in [
        (
            "{ organization: 42 }",
            "decideUser returned {\"organization\":42}: \"organization\" must be a string or null",
        ),
        ("undefined", "decideUser returned undefined: it must return an object"),
        ("'acme'", "decideUser returned \"acme\": it must return an object"),
        ("{}", "decideUser returned {}: \"organization\" must be a string or null"),
        ("{ organization: 'acme', rule: 3 }", "\"rule\" must be a string when given"),
        ("{ organization: 'acme', groups: 'staff' }", "\"groups\" must be an array of strings"),
        ("{ organization: 'acme', groups: ['a', 2] }", "\"groups\" must be an array of strings (item 1 is not)"),
        ("Promise.resolve({ organization: 'acme' })", "not a Promise"),
    ] {
        let message = rule_error(&in_decide_user(&format!("return {returned};")));
        assert!(message.contains(expected), "{returned}: {message}");
    }
    let script = "export function decideGroup(group) { return { organizations: group }; }";
    let error = groups(script, &["sales".to_owned()]).map(|e| e.output).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("decideGroup returned {\"organizations\":\"sales\"}: \"organizations\" must be an array"),
        "{error}"
    );
}

#[test]
fn an_entry_the_script_does_not_export_is_a_clear_error() {
    let script = "export function decideUser() { return { organization: 'acme' }; }";
    let error = groups(script, &["sales".to_owned()]).map(|e| e.output).unwrap_err();
    assert!(error.to_string().contains("the script exports no function `decideGroup`"), "{error}");
}

#[test]
fn a_syntax_error_is_refused_at_prepare_with_line_and_column() {
    match prepare("export function decideUser(user) {\n  const x = 1;\n  if (x ==) {}\n}\n") {
        Err(EvalError::InvalidSettings(error)) => {
            assert_eq!(error.path, "script");
            assert_eq!(
                error.message,
                "line 3, column 11: SyntaxError: unexpected token in expression: ')'\n  3 |   if (x ==) {}"
            );
        }
        other => panic!("expected a settings error, got {other:?}"),
    }
}

#[test]
fn a_script_at_the_largest_settings_size_loads_and_decides() {
    // The settings travel to the module as one request: at most `max_input_bytes`, and their
    // prepared form comes back as one response of at most `max_output_bytes`.
    let limit = muster_engine::Limits::default().max_input_bytes.min(muster_engine::Limits::default().max_output_bytes);
    // Rules and a table of organizations, then comments up to the limit (one line: the JSON
    // settings document is the script plus a few bytes).
    let mut script =
        "export function decideUser() { return { organization: TABLE[TABLE.length - 1] }; }\nconst TABLE = ["
            .to_owned();
    for index in 0..1000 {
        script.push_str(&format!("'organization-{index}',"));
    }
    script.push_str("];\n/*");
    script.push_str(&" ".repeat(limit - 1024 - script.len()));
    script.push_str("*/\n");
    let decision = decide(&script).unwrap().output;
    assert_eq!(decision.organization.as_deref(), Some("organization-999"));
}

#[test]
fn decisions_are_deterministic() {
    let script = in_decide_user(
        "return { organization: `${typeof Math.random}|${Date.now()}|${new Date().getTime()}|${typeof performance}` };",
    );
    let first = decide(&script).unwrap();
    assert_eq!(first.output.organization.as_deref(), Some("undefined|0|0|undefined"));
    let second = decide(&script).unwrap();
    assert_eq!(
        (&first.output, &first.trace, first.fuel_consumed),
        (&second.output, &second.trace, second.fuel_consumed)
    );
}

#[test]
fn the_snapshot_holds_the_script_evaluated() {
    let (_, module, _) = module();
    let script = in_decide_user("trace.note(null, 'called');\nreturn { organization: context.config.organization };");
    let settings = prepare(&script).unwrap();
    let user = User { user_name: "ada@acme.com".into(), ..User::default() };
    let cold = module.evaluate_user(&settings, &Context::default(), &user).unwrap();
    let warm = decide(&script).unwrap();
    assert_eq!((&cold.output, &cold.trace), (&warm.output, &warm.trace));
    assert_eq!(warm.output.organization.as_deref(), Some("acme"));
    assert!(
        warm.fuel_consumed * 5 < cold.fuel_consumed,
        "snapshot {} vs. loading per call {}",
        warm.fuel_consumed,
        cold.fuel_consumed
    );
}
