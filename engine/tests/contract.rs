//! The contract a module must meet to be loaded (docs/abi.md): only Muster's host functions as
//! imports, the required exports with the right signatures, a known ABI version, valid bytes
//! within the size and compile-time caps; and the calls the host makes across it.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod support;

use std::time::{Duration, Instant};

use muster_engine::{EvalError, Limits, LoadError, PreparedSettings};
use muster_wire::{
    Context, GroupAssignment, GroupDecision, GuestError, Response, SettingsError, User, UserDecision, codec,
};
use support::*;

/// The parts of a module that meets the contract, to leave out or replace one at a time.
const MEMORY: &str = r#"(memory (export "memory") 1)"#;
const ABI_V1: &str = r#"(func (export "muster_abi_version") (result i32) (i32.const 1))"#;
const ALLOC: &str = r#"(func (export "muster_alloc") (param i32) (result i32) (i32.const 0x8000))"#;
const USER_RULES: &str = r#"(func (export "muster_user_rules") (param i32 i32) (result i64) (i64.const 0))"#;

/// A module made of exactly `parts`, in order (imports first).
fn module_of(parts: &[&str]) -> Vec<u8> {
    wat(&format!("(module\n{}\n)", parts.join("\n")))
}

/// A module importing `import` and otherwise meeting the contract.
fn importing(import: &str) -> Vec<u8> {
    module_of(&[import, MEMORY, ABI_V1, ALLOC, USER_RULES])
}

/// Asserts that loading a module importing `import` is refused as a forbidden import of
/// `module::name`, and returns the reason.
#[track_caller]
fn forbidden(engine: &muster_engine::Engine, import: &str, module: &str, name: &str) -> String {
    match load_error(engine, &importing(import)) {
        LoadError::ForbiddenImport { module: m, name: n, reason } => {
            assert_eq!((m.as_str(), n.as_str()), (module, name), "{import}");
            reason
        }
        other => panic!("{import}: expected a forbidden import, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Imports.

#[test]
fn a_module_importing_exactly_the_host_functions_loads() {
    let engine = engine();
    let wasm = rule_module_with_imports(
        r#"(import "muster" "regex_compile" (func (param i32 i32 i32 i32) (result i32)))
           (import "muster" "regex_is_match" (func (param i32 i32 i32) (result i32)))
           (import "muster" "abort" (func (param i32 i32)))"#,
        &returns(&encode(&good_response())),
    );
    assert_eq!(Ok(load_and_evaluate(&engine, &wasm).unwrap().output), good_response().result);
}

#[test]
fn a_wasi_import_is_forbidden_and_named_as_wasi() {
    let engine = engine();
    let reason = forbidden(
        &engine,
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
        "wasi_snapshot_preview1",
        "fd_write",
    );
    assert_mentions(&reason, &["no WASI", "wasm32-unknown-unknown"]);
    let error = load_error(
        &engine,
        &importing(r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#),
    );
    assert_mentions(&error, &["forbidden import `wasi_snapshot_preview1::fd_write`", "WASI"]);
    let reason =
        forbidden(&engine, r#"(import "wasi_unstable" "proc_exit" (func (param i32)))"#, "wasi_unstable", "proc_exit");
    assert_mentions(&reason, &["WASI"]);
    assert_host_still_fine(&engine);
}

#[test]
fn an_import_from_another_module_is_forbidden() {
    let engine = engine();
    for (import, module, name) in [
        (r#"(import "env" "something" (func))"#, "env", "something"),
        (r#"(import "env" "abort" (func (param i32 i32)))"#, "env", "abort"),
        (r#"(import "" "regex_compile" (func (param i32 i32 i32 i32) (result i32)))"#, "", "regex_compile"),
        (r#"(import "Muster" "abort" (func (param i32 i32)))"#, "Muster", "abort"),
    ] {
        let reason = forbidden(&engine, import, module, name);
        assert_mentions(&reason, &["only the host functions of module `muster`"]);
    }
    assert_host_still_fine(&engine);
}

#[test]
fn an_unknown_host_function_is_forbidden() {
    let engine = engine();
    let reason = forbidden(&engine, r#"(import "muster" "nonexistent" (func))"#, "muster", "nonexistent");
    assert_mentions(&reason, &["no such host function"]);
    let error = load_error(&engine, &importing(r#"(import "muster" "nonexistent" (func))"#));
    assert_mentions(&error, &["forbidden import `muster::nonexistent`"]);
    assert_host_still_fine(&engine);
}

#[test]
fn a_host_function_with_the_wrong_signature_is_forbidden() {
    let engine = engine();
    for (import, name, expected) in [
        (
            r#"(import "muster" "regex_compile" (func (param i32 i32) (result i32)))"#,
            "regex_compile",
            "(i32, i32, i32, i32) -> i32",
        ),
        (
            r#"(import "muster" "regex_compile" (func (param i32 i32 i32 i32)))"#,
            "regex_compile",
            "(i32, i32, i32, i32) -> i32",
        ),
        (
            r#"(import "muster" "regex_compile" (func (param i64 i64 i64 i64) (result i64)))"#,
            "regex_compile",
            "(i32, i32, i32, i32) -> i32",
        ),
        (
            r#"(import "muster" "regex_is_match" (func (param i32 i32 i32) (result i64)))"#,
            "regex_is_match",
            "(i32, i32, i32) -> i32",
        ),
        (r#"(import "muster" "abort" (func (param i32 i32) (result i32)))"#, "abort", "(i32, i32) -> ()"),
        (r#"(import "muster" "abort" (func))"#, "abort", "(i32, i32) -> ()"),
    ] {
        let reason = forbidden(&engine, import, "muster", name);
        assert_mentions(&reason, &["must be imported as a function", expected]);
    }
    assert_host_still_fine(&engine);
}

#[test]
fn imported_memories_tables_and_globals_are_forbidden() {
    let engine = engine();
    for (import, module, name, expected) in [
        (r#"(import "env" "memory" (memory 1))"#, "env", "memory", "only the host functions"),
        (r#"(import "muster" "memory" (memory 1))"#, "muster", "memory", "no such host function"),
        (r#"(import "muster" "abort" (memory 1))"#, "muster", "abort", "must be imported as a function"),
        (r#"(import "env" "table" (table 1 funcref))"#, "env", "table", "only the host functions"),
        (
            r#"(import "muster" "regex_compile" (table 1 funcref))"#,
            "muster",
            "regex_compile",
            "must be imported as a function",
        ),
        (r#"(import "env" "stack_pointer" (global (mut i32)))"#, "env", "stack_pointer", "only the host functions"),
        (
            r#"(import "muster" "regex_is_match" (global i32))"#,
            "muster",
            "regex_is_match",
            "must be imported as a function",
        ),
    ] {
        let reason = forbidden(&engine, import, module, name);
        assert_mentions(&reason, &[expected]);
    }
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// Exports.

#[test]
fn a_module_without_memory_is_missing_an_export() {
    let engine = engine();
    let error = load_error(&engine, &module_of(&[ABI_V1, ALLOC, USER_RULES]));
    assert_eq!(error, LoadError::MissingExport("memory"));
    assert_mentions(&error, &["missing export `memory`"]);
    // A memory under another name does not count.
    let renamed = module_of(&[r#"(memory (export "mem") 1)"#, ABI_V1, ALLOC, USER_RULES]);
    assert_eq!(load_error(&engine, &renamed), LoadError::MissingExport("memory"));
    // Nor does an unexported one.
    let hidden = module_of(&["(memory 1)", ABI_V1, ALLOC, USER_RULES]);
    assert_eq!(load_error(&engine, &hidden), LoadError::MissingExport("memory"));
    assert_host_still_fine(&engine);
}

#[test]
fn a_module_without_muster_alloc_is_missing_an_export() {
    let engine = engine();
    let error = load_error(&engine, &module_of(&[MEMORY, ABI_V1, USER_RULES]));
    assert_eq!(error, LoadError::MissingExport("muster_alloc"));
    assert_mentions(&error, &["missing export `muster_alloc`"]);
    assert_host_still_fine(&engine);
}

#[test]
fn a_module_without_muster_abi_version_is_missing_an_export() {
    let engine = engine();
    let error = load_error(&engine, &module_of(&[MEMORY, ALLOC, USER_RULES]));
    assert_eq!(error, LoadError::MissingExport("muster_abi_version"));
    assert_host_still_fine(&engine);
}

#[test]
fn exports_with_the_wrong_signature_are_refused() {
    let engine = engine();
    let cases: [(&[&str], &str, &str); 9] = [
        (
            &[MEMORY, ABI_V1, r#"(func (export "muster_alloc") (param i64) (result i64) (i64.const 0))"#, USER_RULES],
            "muster_alloc",
            "a function (i32) -> i32",
        ),
        (
            &[
                MEMORY,
                ABI_V1,
                r#"(func (export "muster_alloc") (param i32 i32) (result i32) (i32.const 0))"#,
                USER_RULES,
            ],
            "muster_alloc",
            "a function (i32) -> i32",
        ),
        (
            &[MEMORY, r#"(func (export "muster_abi_version") (result i64) (i64.const 1))"#, ALLOC, USER_RULES],
            "muster_abi_version",
            "a function () -> i32",
        ),
        (
            &[MEMORY, r#"(global (export "muster_abi_version") i32 (i32.const 1))"#, ALLOC, USER_RULES],
            "muster_abi_version",
            "a function () -> i32",
        ),
        (
            &[MEMORY, ABI_V1, ALLOC, r#"(func (export "muster_user_rules") (param i32) (result i32) (i32.const 0))"#],
            "muster_user_rules",
            "a function (i32, i32) -> i64",
        ),
        (
            &[
                MEMORY,
                ABI_V1,
                ALLOC,
                r#"(func (export "muster_user_rules") (param i32 i32) (result i32 i32) (i32.const 0) (i32.const 0))"#,
            ],
            "muster_user_rules",
            "a function (i32, i32) -> i64",
        ),
        (
            &[
                MEMORY,
                ABI_V1,
                ALLOC,
                USER_RULES,
                r#"(func (export "muster_group_rules") (param i64 i64) (result i64) (i64.const 0))"#,
            ],
            "muster_group_rules",
            "a function (i32, i32) -> i64",
        ),
        (
            &[MEMORY, ABI_V1, ALLOC, USER_RULES, r#"(func (export "muster_prepare_settings") (param i32 i32))"#],
            "muster_prepare_settings",
            "a function (i32, i32) -> i64",
        ),
        (
            &[MEMORY, ABI_V1, ALLOC, r#"(global (export "muster_user_rules") i64 (i64.const 0))"#],
            "muster_user_rules",
            "a function (i32, i32) -> i64",
        ),
    ];
    for (parts, name, expected) in cases {
        let error = load_error(&engine, &module_of(parts));
        assert_eq!(error, LoadError::WrongExport { name: muster_static(name), expected }, "{parts:?}");
        assert_mentions(&error, &[&format!("export `{name}` must be {expected}")]);
    }
    assert_host_still_fine(&engine);
}

/// The `&'static str` export name the engine reports for `name`.
fn muster_static(name: &str) -> &'static str {
    use muster_wire::abi;
    [abi::MEMORY, abi::ABI_VERSION_EXPORT, abi::ALLOC, abi::USER_RULES, abi::GROUP_RULES, abi::PREPARE_SETTINGS]
        .into_iter()
        .find(|known| *known == name)
        .expect("a contract export")
}

#[test]
fn a_memory_export_that_is_not_a_32_bit_memory_is_refused() {
    let engine = engine();
    let expected = LoadError::WrongExport { name: "memory", expected: "a 32-bit, unshared memory" };
    for memory in [
        r#"(global (export "memory") i32 (i32.const 0))"#,
        r#"(table (export "memory") 1 funcref)"#,
        r#"(func (export "memory"))"#,
        r#"(memory (export "memory") i64 1)"#,
    ] {
        assert_eq!(load_error(&engine, &module_of(&[memory, ABI_V1, ALLOC, USER_RULES])), expected, "{memory}");
    }
    assert_host_still_fine(&engine);
}

#[test]
fn a_module_without_an_entry_point_is_refused() {
    let engine = engine();
    let prepare_only = r#"(func (export "muster_prepare_settings") (param i32 i32) (result i64) (i64.const 0))"#;
    for parts in [&[MEMORY, ABI_V1, ALLOC][..], &[MEMORY, ABI_V1, ALLOC, prepare_only]] {
        let error = load_error(&engine, &module_of(parts));
        assert_eq!(error, LoadError::NoEntryPoint);
        assert_mentions(&error, &["muster_user_rules", "muster_group_rules"]);
    }
    assert_host_still_fine(&engine);
}

#[test]
fn a_module_with_only_group_rules_loads() {
    let engine = engine();
    let group_rules = r#"(func (export "muster_group_rules") (param i32 i32) (result i64) (i64.const 0))"#;
    let module = engine.load(&module_of(&[MEMORY, ABI_V1, ALLOC, group_rules])).unwrap();
    let entries = module.entries();
    assert!(entries.group_rules && !entries.user_rules && !entries.prepare_settings);
}

// ---------------------------------------------------------------------------------------------
// The ABI version.

#[test]
fn an_unknown_abi_version_is_refused() {
    let engine = engine();
    for version in [2i64, 0, -1, 0x7FFF_FFFF] {
        let abi = format!(r#"(func (export "muster_abi_version") (result i32) (i32.const {version}))"#);
        let error = load_error(&engine, &module_of(&[MEMORY, &abi, ALLOC, USER_RULES]));
        assert_eq!(error, LoadError::UnsupportedAbi { found: version, supported: 1 });
        assert_mentions(&error, &[&format!("ABI version {version}"), "speaks version 1"]);
    }
    assert_host_still_fine(&engine);
}

#[test]
fn a_failing_abi_version_export_is_a_startup_error() {
    let engine = engine();
    let trapping = r#"(func $version (export "muster_abi_version") (result i32) unreachable)"#;
    match load_error(&engine, &module_of(&[MEMORY, trapping, ALLOC, USER_RULES])) {
        LoadError::Startup(cause) => match *cause {
            EvalError::Trap(message) => assert_mentions(&message, &["unreachable", "version"]),
            other => panic!("expected a trap, got {other:?}"),
        },
        other => panic!("expected a startup error, got {other:?}"),
    }
    let looping = r#"(func (export "muster_abi_version") (result i32) (loop $l (br $l)) (i32.const 1))"#;
    let error = load_error(&engine, &module_of(&[MEMORY, looping, ALLOC, USER_RULES]));
    assert_eq!(error, LoadError::Startup(Box::new(EvalError::FuelExhausted { limit: 5_000_000 })));
    assert_mentions(&error, &["failed when asked for its ABI version", "ran out of fuel"]);
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// Bytes that are not a module, or too many of them.

/// Asserts that `bytes` are refused as invalid WebAssembly, and returns the message.
#[track_caller]
fn invalid(engine: &muster_engine::Engine, bytes: &[u8]) -> String {
    match load_error(engine, bytes) {
        LoadError::InvalidWasm(message) => {
            assert!(!message.contains('\n'), "message spans lines: {message:?}");
            message
        }
        other => panic!("expected invalid wasm for {:x?}…, got {other:?}", &bytes[..bytes.len().min(16)]),
    }
}

#[test]
fn bytes_that_are_not_webassembly_are_invalid() {
    let engine = engine();
    invalid(&engine, b"");
    assert_mentions(invalid(&engine, b"#!/bin/sh\nrm -rf /\n"), &["magic header"]);
    // WebAssembly text is not accepted, only the binary format.
    invalid(&engine, br#"(module (memory (export "memory") 1))"#);
    // The right magic, an unknown version.
    invalid(&engine, b"\0asm\x02\0\0\0");
    // A component, not a core module.
    invalid(&engine, b"\0asm\x0d\0\x01\0");
    let error = load_error(&engine, b"nope");
    assert_mentions(&error, &["not a valid WebAssembly module"]);
    assert_host_still_fine(&engine);
}

#[test]
fn truncated_modules_are_refused() {
    let engine = engine();
    let wasm = well_behaved_module();
    // Cut inside the header, and inside the last section.
    invalid(&engine, &wasm[..4]);
    invalid(&engine, &wasm[..6]);
    invalid(&engine, &wasm[..wasm.len() - 1]);
    invalid(&engine, &wasm[..wasm.len() / 2]);
    // Every cut inside a section is invalid. A cut on a section boundary can make a valid
    // module (without its data section it answers with zeros, which do not decode; without its
    // trailing name section it works as before); those must at least be contained.
    let mut invalid_cuts = 0;
    for len in 0..wasm.len() {
        match engine.load(&wasm[..len]) {
            Err(LoadError::InvalidWasm(_)) => invalid_cuts += 1,
            Err(_) => {}
            Ok(module) => {
                let _ = evaluate(&module);
            }
        }
    }
    assert!(invalid_cuts * 10 >= wasm.len() * 9, "only {invalid_cuts} of {} cuts were invalid", wasm.len());
    assert_host_still_fine(&engine);
}

#[test]
fn corrupted_modules_are_refused_or_contained() {
    // Flip each byte of a valid module in turn: every variant must be refused or, if it still
    // is a valid module, evaluate to a result or a typed error. Nothing may panic.
    let engine = engine();
    let wasm = well_behaved_module();
    let mut loaded = 0;
    for at in 8..wasm.len() {
        let mut corrupted = wasm.clone();
        corrupted[at] ^= 0xA5;
        if let Ok(module) = engine.load(&corrupted) {
            loaded += 1;
            let _ = evaluate(&module);
        }
    }
    assert!(loaded < wasm.len(), "corruption went unnoticed everywhere");
    assert_host_still_fine(&engine);
}

#[test]
fn a_module_over_the_size_cap_is_too_large() {
    let wasm = well_behaved_module();
    let at_cap = engine_with(Limits { max_module_bytes: wasm.len(), ..limits() });
    assert!(at_cap.load(&wasm).is_ok(), "the size cap is inclusive");
    let engine = engine_with(Limits { max_module_bytes: wasm.len() - 1, ..limits() });
    let error = load_error(&engine, &wasm);
    assert_eq!(error, LoadError::TooLarge { size: wasm.len(), limit: wasm.len() - 1 });
    assert_mentions(&error, &[&format!("module is {} bytes", wasm.len())]);
    // The size is checked before anything else: a huge blob of garbage is not even parsed.
    let huge = vec![0xFFu8; (8 << 20) + 1];
    assert_eq!(load_error(&engine_with(limits()), &huge), LoadError::TooLarge { size: huge.len(), limit: 8 << 20 });
    assert_host_still_fine(&at_cap);
}

// ---------------------------------------------------------------------------------------------
// Compile time.

/// A module of `statements` dependent arithmetic statements: cheap to write, costly to compile
/// (the cost grows linearly with `statements`). They are spread over functions of at most
/// 5 000 statements (about 80 KB), so the module passes the function size limit.
fn compile_bomb(statements: usize) -> Vec<u8> {
    const PER_FUNCTION: usize = 5_000;
    let mut body = String::with_capacity(statements * 90);
    for first in (0..statements).step_by(PER_FUNCTION) {
        body.push_str("(func (param $x i32) (result i32)\n");
        for i in first..statements.min(first + PER_FUNCTION) {
            body.push_str(&format!(
                "(local.set $x (i32.add (i32.mul (local.get $x) (i32.const {})) (i32.const {i})))\n",
                i | 1
            ));
        }
        body.push_str("(local.get $x))\n");
    }
    body.push_str(USER_RULES);
    rule_module(&body)
}

/// The shortest of three runs of `f`.
fn fastest(mut f: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .min()
        .unwrap()
}

#[test]
fn a_compile_bomb_hits_the_compile_timeout() {
    // Calibrated on this machine and build, so the test holds in debug and release builds
    // alike: the timeout is 20 times what loading a small module takes, and the bomb is sized
    // to take about 10 times the timeout to compile.
    const UNIT: usize = 1_000;
    // The bomb may have more code than the default code size limit allows.
    let roomy = Limits { max_code_bytes: limits().max_module_bytes, ..limits() };
    let generous = engine_with(Limits { compile_timeout: Duration::from_secs(300), ..roomy.clone() });
    let small = fastest(|| drop(generous.load(&well_behaved_module()).unwrap()));
    let unit = fastest(|| drop(generous.load(&compile_bomb(UNIT)).unwrap()));
    let timeout = (small * 20).max(Duration::from_millis(50));
    let units = (timeout.as_secs_f64() * 10.0 / unit.as_secs_f64()).ceil() as usize;
    let bomb = compile_bomb(UNIT * units.max(2));
    eprintln!(
        "small module {small:?}, {UNIT} statements {unit:?}: timeout {timeout:?}, bomb of {} statements ({} bytes)",
        UNIT * units.max(2),
        bomb.len()
    );
    assert!(bomb.len() <= limits().max_module_bytes, "the bomb ({} bytes) needs a bigger size cap", bomb.len());

    let engine = engine_with(Limits { compile_timeout: timeout, ..roomy });
    let started = Instant::now();
    let error = load_error(&engine, &bomb);
    let waited = started.elapsed();
    assert_eq!(error, LoadError::CompileTimeout(timeout));
    assert_mentions(&error, &["compiling the module took longer than"]);
    // The caller got its answer at the timeout, not when the compiler finished.
    assert!(waited < timeout * 4 + Duration::from_secs(1), "waited {waited:?} for a {timeout:?} timeout");
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// Calls across the contract.

/// A module answering `user` (user rules) and/or `groups` (group rules) with fixed responses.
fn answering(user: Option<&Response<UserDecision>>, groups: Option<&Response<GroupDecision>>) -> Vec<u8> {
    let mut body = String::new();
    if let Some(response) = user {
        body.push_str(&returns(&encode(response)));
    }
    if let Some(response) = groups {
        let bytes = encode(response);
        let at = RESPONSE_AT + 2048;
        body.push_str(&format!(
            r#"(data (i32.const {at}) {}) (func (export "muster_group_rules") (param i32 i32) (result i64) (i64.const {}))"#,
            wat_bytes(&bytes),
            packed(at, bytes.len() as u32)
        ));
    }
    rule_module(&body)
}

/// A group decision marking each of `groups` with `acme`.
fn group_response(groups: &[&str]) -> Response<GroupDecision> {
    Response {
        result: Ok(GroupDecision {
            groups: groups
                .iter()
                .map(|g| GroupAssignment { group: (*g).into(), organizations: vec!["acme".into()], rule: None })
                .collect(),
        }),
        trace: vec![],
    }
}

#[test]
fn evaluating_an_entry_point_the_module_does_not_export_is_refused() {
    let engine = engine();
    let settings = PreparedSettings(b"{}".to_vec());
    let user_only = engine.load(&well_behaved_module()).unwrap();
    let error = user_only.evaluate_groups(&settings, &Context::default(), &["sales".into()]).unwrap_err();
    assert_eq!(error, EvalError::NotExported("muster_group_rules"));
    assert_mentions(&error, &["does not export `muster_group_rules`"]);
    let groups_only = engine.load(&answering(None, Some(&group_response(&["sales"])))).unwrap();
    let error = groups_only.evaluate_user(&settings, &Context::default(), &user()).unwrap_err();
    assert_eq!(error, EvalError::NotExported("muster_user_rules"));
    assert_host_still_fine(&engine);
}

#[test]
fn group_rules_answer_for_exactly_the_groups_asked_about() {
    let engine = engine();
    let settings = PreparedSettings(b"{}".to_vec());
    let module = engine.load(&answering(None, Some(&group_response(&["sales", "ops"])))).unwrap();
    let asked: Vec<String> = vec!["sales".into(), "ops".into()];
    let evaluation = module.evaluate_groups(&settings, &Context::default(), &asked).unwrap();
    assert_eq!(Ok(evaluation.output), group_response(&["sales", "ops"]).result);
    // The same answer to another question is malformed.
    for other in
        [vec!["sales".to_string()], vec!["ops".into(), "sales".into()], vec!["sales".into(), "ops".into(), "hr".into()]]
    {
        match module.evaluate_groups(&settings, &Context::default(), &other).unwrap_err() {
            EvalError::MalformedOutput(message) => {
                assert_mentions(&message, &[&format!("asked about {} groups", other.len())])
            }
            error => panic!("expected malformed output, got {error:?}"),
        }
    }
    assert_host_still_fine(&engine);
}

#[test]
fn a_request_over_the_input_cap_is_refused_before_the_module_runs() {
    let limit = 256;
    let engine = engine_with(Limits { max_input_bytes: limit, ..limits() });
    let module = engine.load(&well_behaved_module()).unwrap();
    let settings = module.prepare_settings(b"{}").unwrap();
    let size_for = |name: &str| {
        let user = User { user_name: name.into(), ..User::default() };
        (codec::encode_user_request(&Context::default(), &settings.0, &user).unwrap().len(), user)
    };
    // Find the longest user name that still fits, then one byte more.
    let fitting = (1..limit).rev().map(|n| size_for(&"a".repeat(n))).find(|(size, _)| *size <= limit).unwrap();
    assert_eq!(fitting.0, limit, "a request of exactly the cap");
    assert!(module.evaluate_user(&settings, &Context::default(), &fitting.1).is_ok(), "the input cap is inclusive");
    let (size, over) = size_for(&format!("{}a", fitting.1.user_name));
    let error = module.evaluate_user(&settings, &Context::default(), &over).unwrap_err();
    assert_eq!(error, EvalError::InputTooLarge { size, limit });
    assert_mentions(&error, &[&format!("request is {size} bytes; the limit is {limit} bytes")]);
    // Raw settings travel in every request, so oversized ones are refused at evaluation.
    let big_settings = PreparedSettings(vec![b' '; limit]);
    assert!(matches!(
        module.evaluate_user(&big_settings, &Context::default(), &user()).unwrap_err(),
        EvalError::InputTooLarge { limit: 256, .. }
    ));
    let groups = vec!["g".repeat(limit)];
    let groups_module = engine.load(&answering(None, Some(&group_response(&["g"])))).unwrap();
    assert!(matches!(
        groups_module.evaluate_groups(&settings, &Context::default(), &groups).unwrap_err(),
        EvalError::InputTooLarge { limit: 256, .. }
    ));
    assert_host_still_fine(&engine);
}

/// A module whose `muster_prepare_settings` answers `prepared` and whose user rules answer
/// well.
fn preparing(prepared: &Response<Vec<u8>>) -> Vec<u8> {
    let bytes = encode(prepared);
    let at = RESPONSE_AT + 2048;
    rule_module(&format!(
        r#"{}
           (data (i32.const {at}) {}) (func (export "muster_prepare_settings") (param i32 i32) (result i64) (i64.const {}))"#,
        returns(&encode(&good_response())),
        wat_bytes(&bytes),
        packed(at, bytes.len() as u32)
    ))
}

#[test]
fn settings_are_prepared_by_the_module_when_it_exports_that() {
    let engine = engine();
    let module = engine.load(&preparing(&Response { result: Ok(vec![1, 2, 3]), trace: vec![] })).unwrap();
    assert!(module.entries().prepare_settings);
    assert_eq!(module.prepare_settings(b"{\"rules\": []}").unwrap(), PreparedSettings(vec![1, 2, 3]));
    // Without the export the JSON passes through unchanged.
    let plain = engine.load(&well_behaved_module()).unwrap();
    assert_eq!(plain.prepare_settings(b"{\"rules\": []}").unwrap(), PreparedSettings(b"{\"rules\": []}".to_vec()));
}

#[test]
fn settings_the_module_refuses_are_invalid_settings_with_their_path() {
    let engine = engine();
    let refusal = SettingsError { path: "/rules/3/condition".into(), message: "unknown attribute".into() };
    let module = engine
        .load(&preparing(&Response { result: Err(GuestError::Settings(refusal.clone())), trace: vec![] }))
        .unwrap();
    let error = module.prepare_settings(b"{}").unwrap_err();
    assert_eq!(error, EvalError::InvalidSettings(refusal));
    assert_mentions(&error, &["settings rejected at /rules/3/condition: unknown attribute"]);
    assert_host_still_fine(&engine);
}

#[test]
fn settings_over_the_input_cap_are_refused() {
    let engine = engine_with(Limits { max_input_bytes: 64, ..limits() });
    let module = engine.load(&preparing(&Response { result: Ok(vec![1]), trace: vec![] })).unwrap();
    let json = format!("{{\"fallback\": \"{}\"}}", "x".repeat(64));
    assert_eq!(
        module.prepare_settings(json.as_bytes()).unwrap_err(),
        EvalError::InputTooLarge { size: json.len(), limit: 64 }
    );
    assert_host_still_fine(&engine);
}

#[test]
fn a_guest_error_is_reported_as_such() {
    let engine = engine();
    for (error, expected) in [
        (GuestError::Rule("no attribute `department`".into()), "rule failed: no attribute `department`"),
        (GuestError::Request("unexpected end of input".into()), "request not understood: unexpected end of input"),
    ] {
        let module = engine.load(&answering(Some(&Response { result: Err(error), trace: vec![] }), None)).unwrap();
        assert_eq!(evaluate(&module).unwrap_err(), EvalError::Guest(expected.into()));
    }
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// The settings schema (optional export).

/// A module whose `muster_settings_schema` answers `schema`.
fn publishing(schema: &Response<String>) -> Vec<u8> {
    let bytes = encode(schema);
    let at = RESPONSE_AT + 2048;
    rule_module(&format!(
        r#"{}
           (data (i32.const {at}) {}) (func (export "muster_settings_schema") (param i32 i32) (result i64) (i64.const {}))"#,
        returns(&encode(&good_response())),
        wat_bytes(&bytes),
        packed(at, bytes.len() as u32)
    ))
}

#[test]
fn a_module_publishes_its_settings_schema_when_it_exports_one() {
    let engine = engine();
    let text = r#"{"type":"object","properties":{"fallback":{"type":"string"}}}"#.to_owned();
    let module = engine.load(&publishing(&Response { result: Ok(text.clone()), trace: vec![] })).unwrap();
    assert!(module.entries().settings_schema);
    assert_eq!(module.settings_schema().unwrap(), Some(text));
    // A module without the export still loads and runs; it publishes no schema.
    let plain = engine.load(&well_behaved_module()).unwrap();
    assert!(!plain.entries().settings_schema);
    assert_eq!(plain.settings_schema().unwrap(), None);
    evaluate(&plain).unwrap();
}

#[test]
fn a_failing_or_misshapen_schema_export_is_an_error_not_a_panic() {
    let engine = engine();
    let trapping = rule_module(&format!(
        r#"{} (func (export "muster_settings_schema") (param i32 i32) (result i64) unreachable)"#,
        returns(&encode(&good_response()))
    ));
    assert!(matches!(engine.load(&trapping).unwrap().settings_schema(), Err(EvalError::Trap(_))));
    let wrong = rule_module(&format!(
        r#"{} (func (export "muster_settings_schema") (result i64) (i64.const 0))"#,
        returns(&encode(&good_response()))
    ));
    assert_eq!(
        load_error(&engine, &wrong),
        LoadError::WrongExport { name: "muster_settings_schema", expected: "a function (i32, i32) -> i64" }
    );
    assert_host_still_fine(&engine);
}
