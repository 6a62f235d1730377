//! Hostile rule modules: endless loops, memory and table bombs, runaway recursion, traps, lying
//! output slices, broken allocators, abuse of the host functions, modules shaped to be costly to
//! compile and compiles piling up. Each attack must end in its own typed error, and the engine
//! must keep working afterwards.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod support;

use std::{
    sync::Barrier,
    time::{Duration, Instant},
};

use muster_engine::{EvalError, Limits, LoadError};
use muster_wire::{Context, GuestError, Response, User, UserDecision, codec};
use support::*;

/// The `muster` host functions, imported under the names the tests use.
const HOST_IMPORTS: &str = r#"
  (import "muster" "regex_compile" (func $regex_compile (param i32 i32 i32 i32) (result i32)))
  (import "muster" "regex_is_match" (func $regex_is_match (param i32 i32 i32) (result i32)))
  (import "muster" "abort" (func $abort (param i32 i32)))"#;

/// A `muster_user_rules` entry point named `$rules` whose body is `code` (which must leave an
/// `i64` on the stack or not return).
fn entry(code: &str) -> String {
    format!(r#"(func $rules (export "muster_user_rules") (param $ptr i32) (param $len i32) (result i64) {code})"#)
}

/// A rule module whose entry point runs `code`.
fn module_running(code: &str) -> Vec<u8> {
    rule_module(&entry(code))
}

/// A rule module, with the host functions imported, whose entry point runs `code` and may also
/// use `data` (data segments and helper functions).
fn module_using_host(data: &str, code: &str) -> Vec<u8> {
    rule_module_with_imports(HOST_IMPORTS, &format!("{data}\n{}", entry(code)))
}

/// A module whose entry point answers with the well-behaved response after running `code`, so
/// success of an evaluation proves `code` ran to its end.
fn module_answering_after(data: &str, code: &str) -> Vec<u8> {
    let response = encode(&good_response());
    let body = format!(
        "(data (i32.const {RESPONSE_AT}) {bytes})\n{data}\n{entry}",
        bytes = wat_bytes(&response),
        entry = entry(&format!("{code}\n(i64.const {})", packed(RESPONSE_AT, response.len() as u32))),
    );
    rule_module_with_imports(HOST_IMPORTS, &body)
}

/// A module whose start function runs `code` (and whose entry point answers well).
fn module_starting_with(code: &str) -> Vec<u8> {
    let start = format!("(func $start {code}) (start $start)");
    module_answering_after(&start, "")
}

/// Limits with fuel that never runs out, so only the wall-clock deadline can stop a module.
fn unlimited_fuel(timeout: Duration) -> Limits {
    Limits { fuel: u64::MAX, timeout, ..limits() }
}

/// An entry-point body that never returns.
const ENDLESS_LOOP: &str = "(loop $forever (br $forever)) unreachable";

// ---------------------------------------------------------------------------------------------
// Endless loops: fuel and the epoch deadline.

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let engine = engine();
    let error = eval_error(&engine, &module_running(ENDLESS_LOOP));
    assert_eq!(error, EvalError::FuelExhausted { limit: 5_000_000 });
    assert_mentions(&error, &["ran out of fuel", "5000000"]);
    assert_host_still_fine(&engine);
}

#[test]
fn an_infinite_loop_with_unlimited_fuel_hits_the_wall_clock_deadline() {
    let timeout = Duration::from_millis(100);
    let engine = engine_with(unlimited_fuel(timeout));
    let module = engine.load(&module_running(ENDLESS_LOOP)).unwrap();
    let started = Instant::now();
    let error = evaluate(&module).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(error, EvalError::Timeout(timeout));
    assert_mentions(&error, &["time budget", "100ms"]);
    assert!(elapsed >= Duration::from_millis(90), "stopped after {elapsed:?}, before the deadline");
    assert!(elapsed < Duration::from_secs(5), "stopped only after {elapsed:?}");
    assert_host_still_fine(&engine);
}

#[test]
fn an_infinite_loop_in_a_start_function_runs_out_of_fuel_at_load() {
    let engine = engine();
    let error = load_error(&engine, &module_starting_with(ENDLESS_LOOP));
    assert_eq!(error, LoadError::Startup(Box::new(EvalError::FuelExhausted { limit: 5_000_000 })));
    assert_mentions(&error, &["ran out of fuel"]);
    assert_host_still_fine(&engine);
}

#[test]
fn an_infinite_loop_in_a_start_function_with_unlimited_fuel_times_out_at_load() {
    let timeout = Duration::from_millis(100);
    let engine = engine_with(unlimited_fuel(timeout));
    let error = load_error(&engine, &module_starting_with(ENDLESS_LOOP));
    assert_eq!(error, LoadError::Startup(Box::new(EvalError::Timeout(timeout))));
    assert_host_still_fine(&engine);
}

#[test]
fn an_infinite_loop_in_muster_alloc_runs_out_of_fuel() {
    let engine = engine();
    let wasm = wat(&format!(
        r#"(module
  (memory (export "memory") 1)
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param i32) (result i32) {ENDLESS_LOOP})
  (func (export "muster_user_rules") (param i32 i32) (result i64) (i64.const 0)))"#
    ));
    assert_eq!(eval_error(&engine, &wasm), EvalError::FuelExhausted { limit: 5_000_000 });
    assert_host_still_fine(&engine);
}

#[test]
fn unlimited_fuel_is_still_counted_exactly() {
    let unlimited = engine_with(unlimited_fuel(Duration::from_millis(200)));
    let limited = engine();
    let with_unlimited = load_and_evaluate(&unlimited, &well_behaved_module()).unwrap();
    let with_limited = load_and_evaluate(&limited, &well_behaved_module()).unwrap();
    assert_eq!(with_unlimited.fuel_consumed, with_limited.fuel_consumed);
    assert!(with_limited.fuel_consumed < 1_000);
}

#[test]
fn a_practically_unlimited_timeout_does_not_crash_the_host() {
    // Regression: `Duration::MAX` used to overflow the epoch-deadline arithmetic (a panic in
    // debug builds, a deadline already in the past in release builds).
    let engine = engine_with(Limits { timeout: Duration::MAX, ..limits() });
    assert_host_still_fine(&engine);
    assert_eq!(eval_error(&engine, &module_running(ENDLESS_LOOP)), EvalError::FuelExhausted { limit: 5_000_000 });
}

// ---------------------------------------------------------------------------------------------
// Memory and tables.

#[test]
fn a_memory_growth_bomb_hits_the_memory_cap() {
    let engine = engine();
    let bomb = module_running(
        "(loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
         unreachable",
    );
    let error = eval_error(&engine, &bomb);
    assert_eq!(error, EvalError::ResourceLimit { resource: "memory", limit: 4 << 20 });
    assert_mentions(&error, &["memory limit", "4194304"]);
    assert_host_still_fine(&engine);
}

#[test]
fn a_module_that_keeps_growing_after_a_refusal_still_reports_the_memory_cap() {
    // It ignores the -1 and loops until fuel runs out: the cause worth reporting is the cap.
    let engine = engine();
    let bomb = module_running("(loop $grow (drop (memory.grow (i32.const 16))) (br $grow)) unreachable");
    assert_eq!(eval_error(&engine, &bomb), EvalError::ResourceLimit { resource: "memory", limit: 4 << 20 });
    assert_host_still_fine(&engine);
}

#[test]
fn a_single_grow_to_4_gib_hits_the_memory_cap() {
    let engine = engine();
    for pages in ["0xFFFF", "0x10000", "-1"] {
        let bomb = module_running(&format!(
            "(if (i32.ne (memory.grow (i32.const {pages})) (i32.const -1)) (then (return (i64.const 0))))
             unreachable"
        ));
        assert_eq!(
            eval_error(&engine, &bomb),
            EvalError::ResourceLimit { resource: "memory", limit: 4 << 20 },
            "{pages}"
        );
    }
    assert_host_still_fine(&engine);
}

#[test]
fn memory_grows_up_to_the_cap_and_a_refused_growth_is_not_an_error() {
    let engine = engine();
    // 1 page + 63 pages = 4 MiB, the cap; one page more is refused with -1, which the module
    // handles, so the evaluation succeeds.
    let wasm = module_answering_after(
        "",
        "(if (i32.ne (memory.grow (i32.const 63)) (i32.const 1)) (then unreachable))
         (i32.store (i32.const 0x3FFFFC) (i32.const 7))
         (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))",
    );
    let evaluation = load_and_evaluate(&engine, &wasm).expect("growth to the cap is allowed");
    assert_eq!(Ok(evaluation.output), good_response().result);
}

#[test]
fn a_memory_growth_bomb_in_a_start_function_is_caught_at_load() {
    let engine = engine();
    let bomb = module_starting_with(
        "(loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable",
    );
    let error = load_error(&engine, &bomb);
    assert_eq!(error, LoadError::Startup(Box::new(EvalError::ResourceLimit { resource: "memory", limit: 4 << 20 })));
    assert_host_still_fine(&engine);
}

#[test]
fn a_declared_initial_memory_above_the_cap_is_refused_at_load() {
    let engine = engine();
    // 65 pages is one page more than the 4 MiB cap. The pooling allocator refuses such a module
    // when it is compiled; the engine reports it as the instantiation failure it is.
    let wasm = wat(r#"(module
  (memory (export "memory") 65)
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "muster_user_rules") (param i32 i32) (result i64) (i64.const 0)))"#);
    let error = load_error(&engine, &wasm);
    let LoadError::Startup(cause) = &error else { panic!("expected a startup failure, got {error:?}") };
    let EvalError::Instantiation(message) = cause.as_ref() else {
        panic!("expected an instantiation failure, got {cause:?}")
    };
    assert_mentions(message, &["memory", "minimum byte size of 4259840", "exceeds the limit"]);
    assert!(!error.to_string().contains("pooling"), "host detail leaked: {error}");
    assert_host_still_fine(&engine);
}

#[test]
fn a_second_memory_is_refused_at_load() {
    let engine = engine();
    let wasm = rule_module(&format!("(memory $second 1) {}", returns(&encode(&good_response()))));
    let error = load_error(&engine, &wasm);
    let LoadError::Startup(cause) = &error else { panic!("expected a startup failure, got {error:?}") };
    let EvalError::Instantiation(message) = cause.as_ref() else {
        panic!("expected an instantiation failure, got {cause:?}")
    };
    assert_mentions(message, &["memories count of 2", "limit of 1"]);
    assert_host_still_fine(&engine);
}

#[test]
fn a_table_growth_bomb_hits_the_table_cap() {
    let engine = engine();
    let bomb = rule_module(&format!(
        "(table $table 1 funcref)
         {}",
        entry(
            "(loop $grow
               (br_if $grow (i32.ne (table.grow $table (ref.null func) (i32.const 1000)) (i32.const -1))))
             unreachable"
        )
    ));
    let error = eval_error(&engine, &bomb);
    assert_eq!(error, EvalError::ResourceLimit { resource: "table", limit: 20_000 });
    assert_mentions(&error, &["table limit", "20000"]);
    assert_host_still_fine(&engine);
}

#[test]
fn a_declared_initial_table_above_the_cap_is_refused_at_load() {
    let engine = engine();
    let wasm = rule_module(&format!("(table 20001 funcref) {}", returns(&encode(&good_response()))));
    let error = load_error(&engine, &wasm);
    let LoadError::Startup(cause) = &error else { panic!("expected a startup failure, got {error:?}") };
    let EvalError::Instantiation(message) = cause.as_ref() else {
        panic!("expected an instantiation failure, got {cause:?}")
    };
    assert_mentions(message, &["table", "20001", "exceeds the limit of 20000"]);
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// The call stack.

#[test]
fn unbounded_recursion_overflows_the_stack() {
    let engine = engine();
    let wasm = rule_module(&format!(
        "(func $down (param i32) (result i32) (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
         {}",
        entry("(i64.extend_i32_u (call $down (i32.const 0)))")
    ));
    let error = eval_error(&engine, &wasm);
    assert_eq!(error, EvalError::StackOverflow);
    assert_mentions(&error, &["overflowed its call stack"]);
    assert_host_still_fine(&engine);
}

#[test]
fn unbounded_recursion_with_large_frames_overflows_the_stack() {
    // Fuel that does not run out first, so only the stack can stop it.
    let engine = engine_with(unlimited_fuel(Duration::from_secs(5)));
    // Many distinct values live across the call make every frame large, so the stack fills
    // after few calls.
    let locals: String = (0..200).map(|i| format!("(local $l{i} i64)")).collect();
    let uses: String = (0..200)
        .map(|i| format!("(local.set $l{i} (i64.mul (i64.extend_i32_u (local.get 0)) (i64.const {})))", 2 * i + 3))
        .collect();
    let sums: String = (0..200).map(|i| format!("(local.get $l{i}) i64.add ")).collect();
    let wasm = rule_module(&format!(
        "(func $down (param i32) (result i64) {locals} {uses}
           (call $down (i32.add (local.get 0) (i32.const 1))) {sums})
         {}",
        entry("(call $down (i32.const 0))")
    ));
    assert_eq!(eval_error(&engine, &wasm), EvalError::StackOverflow);
    assert_host_still_fine(&engine);
}

#[test]
fn unbounded_recursion_in_a_start_function_overflows_the_stack_at_load() {
    let engine = engine();
    let wasm = rule_module(&format!(
        "(func $down (call $down)) (start $down)
         {}",
        returns(&encode(&good_response()))
    ));
    assert_eq!(load_error(&engine, &wasm), LoadError::Startup(Box::new(EvalError::StackOverflow)));
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// Traps.

/// Evaluates a module whose entry point runs `code` and returns the trap message.
fn trap_message(engine: &muster_engine::Engine, code: &str) -> String {
    match eval_error(engine, &module_running(code)) {
        EvalError::Trap(message) => message,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn unreachable_traps_with_its_message_and_function() {
    let engine = engine();
    let message = trap_message(&engine, "unreachable");
    assert_mentions(&message, &["unreachable", "(in `rules`)"]);
    assert_mentions(EvalError::Trap(message), &["module trapped"]);
    assert_host_still_fine(&engine);
}

#[test]
fn an_integer_division_by_zero_traps() {
    let engine = engine();
    // The divisor comes from the input length minus itself, so it is not a constant.
    let message = trap_message(
        &engine,
        "(i64.extend_i32_u (i32.div_u (i32.const 1) (i32.sub (local.get $len) (local.get $len))))",
    );
    assert_mentions(&message, &["integer divide by zero", "rules"]);
    assert_host_still_fine(&engine);
}

#[test]
fn an_out_of_bounds_load_traps() {
    let engine = engine();
    for address in ["0x10000", "0xFFFFFFFF", "0x7FFFFFFF"] {
        let message = trap_message(&engine, &format!("(i64.load (i32.const {address}))"));
        assert_mentions(&message, &["out of bounds memory access"]);
    }
    let message = trap_message(&engine, "(i64.store (i32.const 0xFFFC) (i64.const 1)) (i64.const 0)");
    assert_mentions(&message, &["out of bounds memory access"]);
    assert_host_still_fine(&engine);
}

#[test]
fn other_wasm_traps_are_reported_with_their_messages() {
    let engine = engine();
    let cases = [
        (
            "(i64.extend_i32_s (i32.div_s (i32.const 0x80000000) (i32.or (local.get $len) (i32.const -1))))",
            "integer overflow",
        ),
        ("(i64.trunc_f64_s (f64.div (f64.const 0) (f64.const 0)))", "invalid conversion to integer"),
        ("(call_indirect (type $i64) (i32.const 0))", "uninitialized element"),
        ("(call_indirect (type $i64) (i32.const 5))", "undefined element"),
        ("(call_indirect (type $i64) (i32.const 1))", "indirect call type mismatch"),
    ];
    for (code, expected) in cases {
        let wasm = rule_module(&format!(
            "(type $i64 (func (result i64)))
             (table 2 funcref)
             (func $other (param i32))
             (elem (i32.const 1) $other)
             {}",
            entry(code)
        ));
        match eval_error(&engine, &wasm) {
            EvalError::Trap(message) => assert_mentions(&message, &[expected]),
            other => panic!("{code}: expected a trap, got {other:?}"),
        }
    }
    assert_host_still_fine(&engine);
}

#[test]
fn a_data_segment_outside_memory_fails_at_load() {
    let engine = engine();
    let wasm = rule_module(&format!(r#"(data (i32.const 0xFFFF) "ab") {}"#, returns(&encode(&good_response()))));
    match load_error(&engine, &wasm) {
        LoadError::Startup(cause) => match *cause {
            EvalError::Trap(message) => assert_mentions(&message, &["out of bounds memory access"]),
            other => panic!("expected a trap, got {other:?}"),
        },
        other => panic!("expected a startup failure, got {other:?}"),
    }
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// The output slice and the response bytes.

/// Evaluates a module whose entry point returns the packed slice `ptr`, `len` and returns the
/// `MalformedOutput` message.
fn malformed_output(engine: &muster_engine::Engine, ptr: u32, len: u32) -> String {
    match eval_error(engine, &module_running(&format!("(i64.const {})", packed(ptr, len)))) {
        EvalError::MalformedOutput(message) => message,
        other => panic!("expected malformed output for {ptr:#x}+{len:#x}, got {other:?}"),
    }
}

#[test]
fn an_output_pointer_outside_memory_is_malformed() {
    let engine = engine();
    let message = malformed_output(&engine, 0x2_0000, 10);
    assert_mentions(&message, &["outside module memory", "65536 bytes"]);
    assert_mentions(EvalError::MalformedOutput(message), &["malformed response"]);
    assert_host_still_fine(&engine);
}

#[test]
fn an_output_running_one_byte_past_memory_is_malformed() {
    let engine = engine();
    assert_mentions(malformed_output(&engine, 0xFFFF, 2), &["outside module memory"]);
    assert_mentions(malformed_output(&engine, 0x1_0000, 1), &["outside module memory"]);
    assert_host_still_fine(&engine);
}

#[test]
fn an_output_ending_exactly_at_the_end_of_memory_is_read() {
    let engine = engine();
    let response = encode(&good_response());
    let at = (PAGE - response.len()) as u32;
    let wasm = rule_module(&format!(
        "(data (i32.const {at}) {}) {}",
        wat_bytes(&response),
        entry(&format!("(i64.const {})", packed(at, response.len() as u32)))
    ));
    assert_eq!(Ok(load_and_evaluate(&engine, &wasm).unwrap().output), good_response().result);
}

#[test]
fn an_output_longer_than_the_output_cap_is_malformed() {
    let engine = engine();
    let message = malformed_output(&engine, 0, (1 << 20) + 1);
    assert_mentions(&message, &["1048577 bytes", "limit is 1048576 bytes"]);
    assert_host_still_fine(&engine);
}

#[test]
fn the_output_cap_is_inclusive() {
    let size = encode(&good_response()).len();
    let at_cap = engine_with(Limits { max_output_bytes: size, ..limits() });
    assert!(load_and_evaluate(&at_cap, &well_behaved_module()).is_ok());
    let below = engine_with(Limits { max_output_bytes: size - 1, ..limits() });
    match load_and_evaluate(&below, &well_behaved_module()) {
        Err(EvalError::MalformedOutput(message)) => {
            assert_mentions(&message, &[&format!("limit is {} bytes", size - 1)])
        }
        other => panic!("expected malformed output, got {other:?}"),
    }
    assert_host_still_fine(&at_cap);
}

#[test]
fn an_output_length_of_4_gib_is_malformed() {
    let engine = engine();
    assert_mentions(malformed_output(&engine, 0, u32::MAX), &["4294967295 bytes", "limit"]);
    // The packed value -1: pointer and length both 0xFFFFFFFF.
    assert_mentions(malformed_output(&engine, u32::MAX, u32::MAX), &["limit"]);
    assert_host_still_fine(&engine);
}

#[test]
fn an_output_pointer_near_4_gib_is_malformed() {
    let engine = engine();
    for (ptr, len) in [(0xFFFF_FFF0, 0x20), (0xFFFF_FFFF, 1), (0xFFFF_FFFF, 0), (0x8000_0000, 16)] {
        assert_mentions(malformed_output(&engine, ptr, len), &["outside module memory"]);
    }
    assert_host_still_fine(&engine);
}

/// Evaluates a module answering with `bytes` and returns the `MalformedOutput` message.
fn undecodable(engine: &muster_engine::Engine, bytes: &[u8]) -> String {
    match eval_error(engine, &rule_module(&returns(bytes))) {
        EvalError::MalformedOutput(message) => message,
        other => panic!("expected malformed output for {bytes:x?}, got {other:?}"),
    }
}

#[test]
fn garbage_output_bytes_are_malformed() {
    let engine = engine();
    undecodable(&engine, &[0xFF; 64]);
    undecodable(&engine, b"{\"organization\": \"acme\"}");
    undecodable(&engine, &[7]);
    assert_host_still_fine(&engine);
}

#[test]
fn an_empty_output_is_malformed() {
    let engine = engine();
    undecodable(&engine, &[]);
    assert_host_still_fine(&engine);
}

#[test]
fn a_truncated_response_is_malformed() {
    let engine = engine();
    let response = encode(&good_response());
    for len in [1, response.len() / 2, response.len() - 1] {
        undecodable(&engine, &response[..len]);
    }
    assert_host_still_fine(&engine);
}

#[test]
fn a_response_with_trailing_bytes_is_malformed() {
    let engine = engine();
    let mut response = encode(&good_response());
    response.push(0);
    assert_mentions(undecodable(&engine, &response), &["1 unexpected trailing bytes"]);
    assert_host_still_fine(&engine);
}

#[test]
fn a_response_claiming_huge_lengths_is_malformed_without_allocating_them() {
    let engine = engine();
    // Ok(UserDecision { organization: Some(<a string of 2^32 - 1 bytes>) … }
    undecodable(&engine, &[0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, b'a']);
    // Ok(UserDecision { organization: None, rule: None, groups: <2^32 - 1 strings> })
    undecodable(&engine, &[0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01, b'a']);
    // Ok(..) with a trace of 2^64 - 1 steps (an overlong varint).
    undecodable(&engine, &[0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
    assert_host_still_fine(&engine);
}

#[test]
fn a_response_that_is_not_utf8_is_malformed() {
    let engine = engine();
    // Ok(UserDecision { organization: Some("\xFF\xFE") … })
    undecodable(&engine, &[0x00, 0x01, 0x02, 0xFF, 0xFE, 0x00, 0x00, 0x00]);
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// A lying allocator.

/// A module whose `muster_alloc` runs `code` and whose entry point answers well.
fn module_allocating_with(code: &str) -> Vec<u8> {
    let response = encode(&good_response());
    wat(&format!(
        r#"(module
  (memory (export "memory") 1)
  (data (i32.const {RESPONSE_AT}) {bytes})
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func $alloc (export "muster_alloc") (param $len i32) (result i32) {code})
  (func (export "muster_user_rules") (param i32 i32) (result i64) (i64.const {packed})))"#,
        bytes = wat_bytes(&response),
        packed = packed(RESPONSE_AT, response.len() as u32),
    ))
}

#[test]
fn muster_alloc_returning_a_pointer_outside_memory_is_an_error() {
    let engine = engine();
    for pointer in ["0x10000", "0xFFFF0000", "-1", "-16"] {
        match eval_error(&engine, &module_allocating_with(&format!("(i32.const {pointer})"))) {
            EvalError::Trap(message) => assert_mentions(&message, &["muster_alloc", "outside module memory"]),
            other => panic!("{pointer}: expected a trap, got {other:?}"),
        }
    }
    assert_host_still_fine(&engine);
}

#[test]
fn muster_alloc_returning_a_buffer_that_runs_past_memory_is_an_error() {
    let engine = engine();
    // The buffer starts inside memory, but the request does not fit before its end.
    match eval_error(&engine, &module_allocating_with("(i32.sub (i32.const 0x10000) (i32.const 4))")) {
        EvalError::Trap(message) => assert_mentions(&message, &["muster_alloc", "outside module memory"]),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_host_still_fine(&engine);
}

#[test]
fn muster_alloc_trapping_is_a_trap_in_muster_alloc() {
    let engine = engine();
    match eval_error(&engine, &module_allocating_with("unreachable")) {
        EvalError::Trap(message) => assert_mentions(&message, &["unreachable", "(in `alloc`)"]),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_host_still_fine(&engine);
}

#[test]
fn muster_alloc_pointing_into_the_response_is_harmless() {
    // The request overwrites the module's own data: its problem, not the host's. The module
    // then answers with whatever is there (here: the request bytes, which do not decode).
    let engine = engine();
    let error = eval_error(&engine, &module_allocating_with(&format!("(i32.const {RESPONSE_AT})")));
    assert!(matches!(error, EvalError::MalformedOutput(_)), "{error:?}");
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// The host functions: abort and regular expressions.

#[test]
fn abort_reports_a_guest_panic_with_its_message() {
    let engine = engine();
    let wasm = module_using_host(
        &format!(r#"(data (i32.const {SCRATCH_AT}) "rule exploded: index 3 out of range")"#),
        &format!("(call $abort (i32.const {SCRATCH_AT}) (i32.const 35)) unreachable"),
    );
    let error = eval_error(&engine, &wasm);
    assert_eq!(error, EvalError::GuestPanic("rule exploded: index 3 out of range".into()));
    assert_mentions(&error, &["module panicked: rule exploded"]);
    assert_host_still_fine(&engine);
}

#[test]
fn abort_with_a_message_outside_memory_still_reports_a_panic() {
    let engine = engine();
    for (ptr, len) in [("0xFFFFFF00", "16"), ("0xFFF0", "0x20"), ("-1", "1")] {
        let wasm = module_using_host("", &format!("(call $abort (i32.const {ptr}) (i32.const {len})) unreachable"));
        assert_eq!(eval_error(&engine, &wasm), EvalError::GuestPanic("(message outside module memory)".into()));
    }
    assert_host_still_fine(&engine);
}

#[test]
fn abort_with_an_overlong_or_negative_length_is_bounded() {
    let engine = engine();
    let wasm = module_using_host("", "(call $abort (i32.const 0) (i32.const 0x7FFFFFFF)) unreachable");
    match eval_error(&engine, &wasm) {
        EvalError::GuestPanic(message) => assert_eq!(message.len(), 4096),
        other => panic!("expected a panic, got {other:?}"),
    }
    let wasm = module_using_host("", "(call $abort (i32.const 0) (i32.const -5)) unreachable");
    assert_eq!(eval_error(&engine, &wasm), EvalError::GuestPanic(String::new()));
    assert_host_still_fine(&engine);
}

#[test]
fn abort_with_a_message_that_is_not_utf8_is_reported_lossily() {
    let engine = engine();
    let wasm = module_using_host(
        &format!(r#"(data (i32.const {SCRATCH_AT}) "bad \ff\fe byte")"#),
        &format!("(call $abort (i32.const {SCRATCH_AT}) (i32.const 11)) unreachable"),
    );
    assert_eq!(eval_error(&engine, &wasm), EvalError::GuestPanic("bad \u{FFFD}\u{FFFD} byte".into()));
    assert_host_still_fine(&engine);
}

#[test]
fn abort_that_returns_is_impossible() {
    // A module that calls `abort` and then tries to carry on never gets the chance.
    let engine = engine();
    let wasm = module_answering_after(
        &format!(r#"(data (i32.const {SCRATCH_AT}) "stop")"#),
        &format!("(call $abort (i32.const {SCRATCH_AT}) (i32.const 4))"),
    );
    assert_eq!(eval_error(&engine, &wasm), EvalError::GuestPanic("stop".into()));
}

#[test]
fn abort_in_a_start_function_is_reported_at_load() {
    let engine = engine();
    let wasm = rule_module_with_imports(
        HOST_IMPORTS,
        &format!(
            r#"(data (i32.const {SCRATCH_AT}) "no")
               (func $start (call $abort (i32.const {SCRATCH_AT}) (i32.const 2))) (start $start)
               {}"#,
            returns(&encode(&good_response()))
        ),
    );
    assert_eq!(load_error(&engine, &wasm), LoadError::Startup(Box::new(EvalError::GuestPanic("no".into()))));
    assert_host_still_fine(&engine);
}

/// Scratch layout of the regex tests: pattern at [`SCRATCH_AT`], text 256 bytes after it,
/// error buffer at 8192.
const TEXT_AT: u32 = SCRATCH_AT + 256;
/// Where the regex tests let the host write error messages.
const ERROR_AT: u32 = 8192;

/// Data segments holding `pattern` and `text` at the regex scratch addresses.
fn regex_data(pattern: &str, text: &str) -> String {
    format!(
        "(data (i32.const {SCRATCH_AT}) {}) (data (i32.const {TEXT_AT}) {})",
        wat_bytes(pattern.as_bytes()),
        wat_bytes(text.as_bytes())
    )
}

#[test]
fn host_regexes_compile_and_match() {
    let engine = engine();
    let data = format!("{} (data (i32.const {}) \"aab\")", regex_data("^a+$", "aaaa"), TEXT_AT + 16);
    let wasm = module_answering_after(
        &format!("{data} (global $handle (mut i32) (i32.const -1))"),
        &format!(
            "(global.set $handle (call $regex_compile (i32.const {SCRATCH_AT}) (i32.const 4) (i32.const {ERROR_AT}) (i32.const 256)))
             (if (i32.lt_s (global.get $handle) (i32.const 0)) (then unreachable))
             (if (i32.ne (call $regex_is_match (global.get $handle) (i32.const {TEXT_AT}) (i32.const 4)) (i32.const 1)) (then unreachable))
             (if (i32.ne (call $regex_is_match (global.get $handle) (i32.const {}) (i32.const 3)) (i32.const 0)) (then unreachable))",
            TEXT_AT + 16
        ),
    );
    let evaluation = load_and_evaluate(&engine, &wasm).expect("the regexes behave");
    assert_eq!(Ok(evaluation.output), good_response().result);
}

#[test]
fn regex_is_match_with_an_unknown_handle_traps() {
    let engine = engine();
    for handle in ["0", "7", "-1", "0x7FFFFFFF"] {
        let wasm = module_using_host(
            "",
            &format!("(drop (call $regex_is_match (i32.const {handle}) (i32.const 0) (i32.const 0))) unreachable"),
        );
        match eval_error(&engine, &wasm) {
            EvalError::Trap(message) => {
                let shown = if handle.starts_with("0x") { "2147483647" } else { handle };
                assert_mentions(&message, &[&format!("unknown regex handle {shown}")]);
            }
            other => panic!("{handle}: expected a trap, got {other:?}"),
        }
    }
    assert_host_still_fine(&engine);
}

/// A module that compiles the pattern at [`SCRATCH_AT`] (`pattern_len` bytes) with an error
/// buffer of `err_cap` bytes, and aborts with whatever the host wrote there (or traps if the
/// pattern compiled).
fn module_reporting_regex_error(data: &str, pattern_len: &str, err_cap: u32) -> Vec<u8> {
    module_using_host(
        data,
        &format!(
            "(local $code i32)
             (local.set $code (call $regex_compile (i32.const {SCRATCH_AT}) (i32.const {pattern_len}) (i32.const {ERROR_AT}) (i32.const {err_cap})))
             (if (i32.ge_s (local.get $code) (i32.const 0)) (then unreachable))
             ;; the message is n = -code - 1 bytes long
             (call $abort (i32.const {ERROR_AT}) (i32.sub (i32.sub (i32.const 0) (local.get $code)) (i32.const 1)))
             unreachable"
        ),
    )
}

#[test]
fn regex_compile_writes_the_error_of_an_invalid_pattern_into_the_guest_buffer() {
    let engine = engine();
    let wasm = module_reporting_regex_error(&regex_data("(", ""), "1", 512);
    match eval_error(&engine, &wasm) {
        EvalError::GuestPanic(message) => assert_mentions(&message, &["regex parse error", "unclosed group"]),
        other => panic!("expected the error message back, got {other:?}"),
    }
    assert_host_still_fine(&engine);
}

#[test]
fn regex_compile_cuts_its_error_message_to_the_buffer_without_splitting_characters() {
    let engine = engine();
    let full = match eval_error(&engine, &module_reporting_regex_error(&regex_data("(é", ""), "3", 4096)) {
        EvalError::GuestPanic(message) => message,
        other => panic!("expected the error message back, got {other:?}"),
    };
    // Byte 25 is the middle of the `é` in the message, so a capacity of 25 must stop before it.
    for cap in [0, 1, 10, 24, 25, 26, 40] {
        match eval_error(&engine, &module_reporting_regex_error(&regex_data("(é", ""), "3", cap)) {
            EvalError::GuestPanic(message) => {
                assert!(message.len() <= cap as usize, "{message:?} is longer than {cap}");
                assert!(full.starts_with(&message), "{message:?} is not a prefix of {full:?}");
                assert!(!message.contains('\u{FFFD}'), "a character was split: {message:?}");
            }
            other => panic!("expected the error message back, got {other:?}"),
        }
    }
    // A negative capacity counts as none.
    match eval_error(&engine, &module_reporting_regex_error(&regex_data("(", ""), "1", (-5i32) as u32)) {
        EvalError::GuestPanic(message) => assert_eq!(message, ""),
        other => panic!("expected an empty message, got {other:?}"),
    }
    assert_host_still_fine(&engine);
}

#[test]
fn regex_compile_refuses_patterns_over_the_length_and_size_limits() {
    let engine = engine();
    // The long pattern sits above the allocator's first buffers, out of the request's way.
    let long = "a".repeat(muster_wire::abi::REGEX_MAX_PATTERN_LEN + 1);
    let long_at = 0xC000;
    let wasm = module_using_host(
        &format!("(data (i32.const {long_at}) {})", wat_bytes(long.as_bytes())),
        &format!(
            "(local $code i32)
             (local.set $code (call $regex_compile (i32.const {long_at}) (i32.const {}) (i32.const {ERROR_AT}) (i32.const 256)))
             (call $abort (i32.const {ERROR_AT}) (i32.sub (i32.sub (i32.const 0) (local.get $code)) (i32.const 1)))
             unreachable",
            long.len()
        ),
    );
    match eval_error(&engine, &wasm) {
        EvalError::GuestPanic(message) => assert_mentions(&message, &["4097 bytes long", "limit is 4096"]),
        other => panic!("expected the error message back, got {other:?}"),
    }
    let wasm = module_reporting_regex_error(&regex_data("a{1000}{1000}", ""), "13", 512);
    match eval_error(&engine, &wasm) {
        EvalError::GuestPanic(message) => assert_mentions(&message, &["size limit"]),
        other => panic!("expected the error message back, got {other:?}"),
    }
    assert_host_still_fine(&engine);
}

/// Evaluates a module whose entry point runs `code` with the host functions and `data`, and
/// returns the trap message.
fn host_trap(engine: &muster_engine::Engine, data: &str, code: &str) -> String {
    match eval_error(engine, &module_using_host(data, code)) {
        EvalError::Trap(message) => message,
        other => panic!("expected a trap from {code}, got {other:?}"),
    }
}

#[test]
fn regex_compile_with_a_pattern_outside_memory_traps() {
    let engine = engine();
    for (ptr, len) in [("0xFFFFFF00", "16"), ("0xFFF0", "0x20"), ("0", "-1"), ("-1", "2")] {
        let message = host_trap(
            &engine,
            "",
            &format!(
                "(drop (call $regex_compile (i32.const {ptr}) (i32.const {len}) (i32.const {ERROR_AT}) (i32.const 16))) unreachable"
            ),
        );
        assert_mentions(&message, &["outside module memory"]);
    }
    assert_host_still_fine(&engine);
}

#[test]
fn regex_compile_with_an_error_buffer_outside_memory_traps() {
    let engine = engine();
    let message = host_trap(
        &engine,
        &regex_data("(", ""),
        &format!(
            "(drop (call $regex_compile (i32.const {SCRATCH_AT}) (i32.const 1) (i32.const 0xFFF0) (i32.const 4096))) unreachable"
        ),
    );
    assert_mentions(&message, &["error buffer is outside module memory"]);
    assert_host_still_fine(&engine);
}

#[test]
fn regex_compile_with_a_pattern_that_is_not_utf8_traps() {
    let engine = engine();
    let message = host_trap(
        &engine,
        &format!(r#"(data (i32.const {SCRATCH_AT}) "a\ff")"#),
        &format!(
            "(drop (call $regex_compile (i32.const {SCRATCH_AT}) (i32.const 2) (i32.const {ERROR_AT}) (i32.const 16))) unreachable"
        ),
    );
    assert_mentions(&message, &["not UTF-8"]);
    assert_host_still_fine(&engine);
}

#[test]
fn regex_is_match_with_text_outside_memory_or_not_utf8_traps() {
    let engine = engine();
    let compile = format!(
        "(local $h i32)
         (local.set $h (call $regex_compile (i32.const {SCRATCH_AT}) (i32.const 1) (i32.const {ERROR_AT}) (i32.const 16)))"
    );
    for (ptr, len, expected) in [
        ("0xFFF0", "0x20", "outside module memory"),
        ("0xFFFFFFFF", "1", "outside module memory"),
        ("0", "-1", "outside module memory"),
        (&*TEXT_AT.to_string(), "2", "not UTF-8"),
    ] {
        let message = host_trap(
            &engine,
            &format!(r#"(data (i32.const {SCRATCH_AT}) "a") (data (i32.const {TEXT_AT}) "\c3\28")"#),
            &format!(
                "{compile} (drop (call $regex_is_match (local.get $h) (i32.const {ptr}) (i32.const {len}))) unreachable"
            ),
        );
        assert_mentions(&message, &[expected]);
    }
    assert_host_still_fine(&engine);
}

#[test]
fn regex_compile_refuses_more_than_ten_thousand_handles() {
    let engine = engine();
    let message = host_trap(
        &engine,
        &regex_data("a", ""),
        &format!(
            "(loop $again
               (br_if $again (i32.ge_s (call $regex_compile (i32.const {SCRATCH_AT}) (i32.const 1) (i32.const {ERROR_AT}) (i32.const 16)) (i32.const 0))))
             unreachable"
        ),
    );
    assert_mentions(&message, &["more than 10000 regular expressions"]);
    assert_host_still_fine(&engine);
}

#[test]
fn regex_matching_is_charged_against_the_fuel_budget() {
    let engine = engine();
    // 200 matches over 60 000 bytes cost 12 M fuel at one unit a byte, far more than the
    // 5 M budget, though the loop itself executes only a few thousand instructions.
    let code = |iterations: u32| {
        format!(
            "(local $h i32) (local $i i32)
             (local.set $h (call $regex_compile (i32.const {SCRATCH_AT}) (i32.const 1) (i32.const {ERROR_AT}) (i32.const 16)))
             (loop $again
               (drop (call $regex_is_match (local.get $h) (i32.const 0) (i32.const 60000)))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $again (i32.lt_u (local.get $i) (i32.const {iterations}))))"
        )
    };
    let data = regex_data("z", "");
    assert_eq!(
        eval_error(&engine, &module_answering_after(&data, &code(200))),
        EvalError::FuelExhausted { limit: 5_000_000 }
    );
    let cheap = load_and_evaluate(&engine, &module_answering_after(&data, &code(10))).unwrap();
    assert!(cheap.fuel_consumed > 600_000, "10 matches over 60 000 bytes cost only {}", cheap.fuel_consumed);
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// Regex budgets: no host match, nor many of them, may outrun the fuel budget or the deadline.

/// Where the regex budget tests write their text: above the first page, which holds the
/// pattern (at [`SCRATCH_AT`]), the response and the request.
const BIG_TEXT_AT: u32 = 0x1_0000;
/// A mebibyte.
const MIB: u32 = 1 << 20;

/// A module that writes `text_len` bytes (a multiple of 8) of pseudo-random `a`/`b` text at
/// [`BIG_TEXT_AT`], compiles `pattern` (at most 4096 bytes, at [`SCRATCH_AT`]) and matches it
/// `calls` times, call `i` on the `window` bytes at `BIG_TEXT_AT + (i % (text_len / window)) *
/// window`; then it answers well. Random text is what makes the lazy DFA of a pattern such as
/// `a[ab]{2000}$` meet a new state at nearly every byte.
fn regex_budget_module(pattern: &str, text_len: u32, window: u32, calls: u32) -> Vec<u8> {
    assert!(pattern.len() <= 4096 && text_len.is_multiple_of(8) && window <= text_len);
    let end = BIG_TEXT_AT + text_len;
    let grow = end.div_ceil(PAGE as u32) - 1;
    let windows = text_len / window;
    module_answering_after(
        &format!("(data (i32.const {SCRATCH_AT}) {})", wat_bytes(pattern.as_bytes())),
        &format!(
            "(local $x i64) (local $p i32) (local $h i32) (local $i i32)
             (if (i32.eq (memory.grow (i32.const {grow})) (i32.const -1)) (then unreachable))
             (local.set $x (i64.const 0x2545F4914F6CDD1D))
             (local.set $p (i32.const {BIG_TEXT_AT}))
             (loop $fill
               (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 13))))
               (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 7))))
               (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 17))))
               (i64.store (local.get $p)
                 (i64.add (i64.and (local.get $x) (i64.const 0x0101010101010101)) (i64.const 0x6161616161616161)))
               (local.set $p (i32.add (local.get $p) (i32.const 8)))
               (br_if $fill (i32.lt_u (local.get $p) (i32.const {end}))))
             (local.set $h (call $regex_compile (i32.const {SCRATCH_AT}) (i32.const {len}) (i32.const {ERROR_AT}) (i32.const 256)))
             (if (i32.lt_s (local.get $h) (i32.const 0)) (then unreachable))
             (loop $again
               (drop (call $regex_is_match (local.get $h)
                 (i32.add (i32.const {BIG_TEXT_AT}) (i32.mul (i32.rem_u (local.get $i) (i32.const {windows})) (i32.const {window})))
                 (i32.const {window})))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $again (i32.lt_u (local.get $i) (i32.const {calls}))))",
            len = pattern.len(),
        ),
    )
}

/// Loads `wasm` into an engine with `limits`, evaluates it expecting a failure, and returns the
/// error and how long the evaluation took (loading not included).
fn timed_eval_error(limits: Limits, wasm: &[u8]) -> (EvalError, Duration) {
    let engine = engine_with(limits);
    let module = engine.load(wasm).unwrap();
    let started = Instant::now();
    let result = evaluate(&module);
    let elapsed = started.elapsed();
    assert_host_still_fine(&engine);
    match result {
        Ok(evaluation) => {
            panic!("the evaluation should have failed, but decided {:?} after {elapsed:?}", evaluation.output)
        }
        Err(error) => (error, elapsed),
    }
}

/// The wall-clock bound of these tests: a generous multiple of the budget, far below what the
/// attacks take when a host call escapes it (seconds to minutes).
#[track_caller]
fn assert_near_budget(elapsed: Duration, budget: Duration) {
    assert!(elapsed < 4 * budget, "the evaluation took {elapsed:?}, more than 4 × its budget of {budget:?}");
}

/// The wall-clock budget of the regex budget tests.
const REGEX_TIMEOUT: Duration = Duration::from_millis(250);

#[test]
fn a_regex_whose_dfa_blows_up_on_a_megabyte_of_text_is_stopped_at_the_budget() {
    // `a[ab]{2000}$` must remember where each of the last 2001 `a`s was: its lazy DFA meets a
    // new state at almost every byte, thrashes its cache and falls back to the PikeVM, about
    // 2000 steps a byte. Unpriced, one call on a megabyte takes 13–21 s.
    let wasm = regex_budget_module("a[ab]{2000}(?m:$)", MIB, MIB, 1);
    // The match is priced before it runs, far above the budget: refused at once.
    let (error, elapsed) = timed_eval_error(Limits { fuel: 50_000_000, timeout: REGEX_TIMEOUT, ..limits() }, &wasm);
    assert_eq!(error, EvalError::FuelExhausted { limit: 50_000_000 });
    assert_near_budget(elapsed, REGEX_TIMEOUT);
    // With fuel that never runs out, the host refuses a match that cannot end by the deadline.
    let (error, elapsed) = timed_eval_error(unlimited_fuel(REGEX_TIMEOUT), &wasm);
    assert_eq!(error, EvalError::Timeout(REGEX_TIMEOUT));
    assert_near_budget(elapsed, REGEX_TIMEOUT);
}

#[test]
fn many_regex_calls_on_medium_text_cannot_outspend_the_budgets() {
    // 2000 calls, each on one of 32 windows of 32 KiB, with a pattern whose DFA blows up: about
    // 50 ms of host work a call. Charged one unit a byte, the default fuel budget paid for
    // 6000 of them (minutes); now each costs what it may really take, about 80 M units.
    let wasm = regex_budget_module("a[ab]{200}(?m:$)", MIB, 32 << 10, 2000);
    // Fuel bounds the work: the default budget (200 M units, about 200 ms of host work) runs
    // out long before a far-away deadline.
    let fuel = Limits::default().fuel;
    let (error, elapsed) = timed_eval_error(Limits { fuel, timeout: Duration::from_secs(5), ..limits() }, &wasm);
    assert_eq!(error, EvalError::FuelExhausted { limit: fuel });
    assert_near_budget(elapsed, REGEX_TIMEOUT);
    // The deadline bounds the time when fuel does not.
    let (error, elapsed) = timed_eval_error(unlimited_fuel(REGEX_TIMEOUT), &wasm);
    assert_eq!(error, EvalError::Timeout(REGEX_TIMEOUT));
    assert_near_budget(elapsed, REGEX_TIMEOUT);
}

#[test]
fn a_maximal_pattern_on_a_megabyte_of_text_is_stopped_at_the_budget() {
    // As long as a pattern may be, and close to the compiled-size limit: 12 500 positions that
    // blow the DFA up (13 000 would not compile), padded to 4096 bytes with an alternative that
    // never matches. Unpriced, one call on a megabyte takes minutes.
    let head = "a[ab]{12500}(?m:$)|";
    let pattern = format!("{head}{}", "z".repeat(muster_wire::abi::REGEX_MAX_PATTERN_LEN - head.len()));
    assert_eq!(pattern.len(), muster_wire::abi::REGEX_MAX_PATTERN_LEN);
    let wasm = regex_budget_module(&pattern, MIB, MIB, 1);
    let (error, elapsed) = timed_eval_error(Limits { fuel: 50_000_000, timeout: REGEX_TIMEOUT, ..limits() }, &wasm);
    assert_eq!(error, EvalError::FuelExhausted { limit: 50_000_000 });
    assert_near_budget(elapsed, REGEX_TIMEOUT);
    let (error, elapsed) = timed_eval_error(unlimited_fuel(REGEX_TIMEOUT), &wasm);
    assert_eq!(error, EvalError::Timeout(REGEX_TIMEOUT));
    assert_near_budget(elapsed, REGEX_TIMEOUT);
}

#[test]
fn chained_regex_compiles_without_a_loop_stop_at_the_deadline() {
    // Refused patterns are compiled again every time, and a pattern just over the size limit
    // takes milliseconds to refuse; without a loop, wasm code never looks at the clock between
    // two calls. 2000 calls in a row: seconds of work for a few hundred thousand units of fuel.
    let pattern = "a[ab]{15000}(?m:$)";
    let call = format!(
        "(drop (call $regex_compile (i32.const {SCRATCH_AT}) (i32.const {}) (i32.const {ERROR_AT}) (i32.const 16)))\n",
        pattern.len()
    );
    let wasm = module_answering_after(&regex_data(pattern, ""), &call.repeat(2000));
    let (error, elapsed) = timed_eval_error(unlimited_fuel(REGEX_TIMEOUT), &wasm);
    assert_eq!(error, EvalError::Timeout(REGEX_TIMEOUT));
    assert_near_budget(elapsed, REGEX_TIMEOUT);
}

// ---------------------------------------------------------------------------------------------
// Compile cost: the shape of a module is checked before the compiler sees it, and compiles run
// in a bounded number of slots.

/// Index of the first function [`module_with_bodies`] adds (after `muster_abi_version`,
/// `muster_alloc` and `muster_user_rules`).
const FIRST_BODY: u32 = 3;

/// A minimal rule module, encoded directly (WebAssembly text of millions of instructions would
/// take long to write and parse), with one more function of type `() -> ()` per entry of
/// `bodies`, each the raw encoding of a function body: its locals, its code, its final `end`.
fn module_with_bodies(bodies: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, MemorySection, MemoryType,
        Module, TypeSection, ValType,
    };
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    types.ty().function([ValType::I32], [ValType::I32]);
    types.ty().function([ValType::I32, ValType::I32], [ValType::I64]);
    types.ty().function([], []);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("muster_abi_version", ExportKind::Func, 0);
    exports.export("muster_alloc", ExportKind::Func, 1);
    exports.export("muster_user_rules", ExportKind::Func, 2);
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    for (ty, value) in
        [(0, Instruction::I32Const(1)), (1, Instruction::I32Const(HEAP_START as i32)), (2, Instruction::I64Const(0))]
    {
        functions.function(ty);
        let mut function = Function::new([]);
        function.instruction(&value).instruction(&Instruction::End);
        code.function(&function);
    }
    for body in bodies {
        functions.function(3);
        code.raw(&body);
    }
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&memories).section(&exports).section(&code);
    module.finish()
}

/// `value` as unsigned LEB128, the encoding of counts in WebAssembly.
fn leb128(mut value: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes.push(byte);
            return bytes;
        }
        bytes.push(byte | 0x80);
    }
}

/// `block` (empty block type), as it opens a nesting level.
const BLOCK: &[u8] = &[0x02, 0x40];
/// `loop` (empty block type).
const LOOP: &[u8] = &[0x03, 0x40];
/// `i32.const 0` then `if` (empty block type).
const IF: &[u8] = &[0x41, 0x00, 0x04, 0x40];
/// `end`.
const END: u8 = 0x0b;

/// A body without locals that `repeats` times opens `depth` levels with `open` and closes them.
fn nested(open: &[u8], depth: usize, repeats: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(1 + repeats * depth * (open.len() + 1) + 1);
    body.push(0x00);
    for _ in 0..repeats {
        for _ in 0..depth {
            body.extend_from_slice(open);
        }
        body.resize(body.len() + depth, END);
    }
    body.push(END);
    body
}

/// A body of exactly `size` bytes: no locals, `nop`s, `end`.
fn body_of_size(size: usize) -> Vec<u8> {
    let mut body = vec![0x00];
    body.resize(size - 1, 0x01);
    body.push(END);
    body
}

/// A body declaring `groups` of `i32` locals and doing nothing.
fn with_locals(groups: &[u32]) -> Vec<u8> {
    let mut body = leb128(groups.len() as u32);
    for &count in groups {
        body.extend(leb128(count));
        body.push(0x7f);
    }
    body.push(END);
    body
}

/// Loads `wasm` with `limits`, expecting a refusal, which must come quickly: before anything is
/// compiled (the compiles these modules would start take seconds to minutes).
#[track_caller]
fn refused_before_compiling(limits: Limits, wasm: &[u8]) -> LoadError {
    let engine = engine_with(limits);
    let started = Instant::now();
    let error = load_error(&engine, wasm);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "refusing took {elapsed:?}: {error}");
    assert_host_still_fine(&engine);
    error
}

#[test]
fn a_function_of_millions_of_nested_blocks_is_refused_before_compiling() {
    // The finding: a module of deeply nested blocks, inside the module size cap, took 7.9 s and
    // 2.3 GB to compile. Here, 7.5 MB of nested blocks in one function (about the most
    // wasmparser takes in one). Now its size alone refuses it, and without a body size limit
    // its depth does, both by reading it once.
    let body = nested(BLOCK, 2_500_000, 1);
    let size = body.len();
    let wasm = module_with_bodies([body]);
    assert!(wasm.len() > 7_000_000 && wasm.len() <= Limits::default().max_module_bytes, "{} bytes", wasm.len());
    let defaults = Limits::default();
    assert_eq!(
        refused_before_compiling(defaults.clone(), &wasm),
        LoadError::FunctionTooLarge { function: FIRST_BODY, size, limit: defaults.max_function_body_bytes }
    );
    let unbounded_body = Limits { max_function_body_bytes: usize::MAX, ..defaults.clone() };
    let error = refused_before_compiling(unbounded_body, &wasm);
    assert_eq!(
        error,
        LoadError::NestingTooDeep {
            function: FIRST_BODY,
            depth: defaults.max_nesting_depth + 1,
            limit: defaults.max_nesting_depth
        }
    );
    assert_mentions(&error, &["function 3 nests blocks 1001 deep", "limit is 1000", "max_nesting_depth"]);
}

#[test]
fn nesting_deeper_than_the_limit_is_refused_and_at_the_limit_loads() {
    let limits = Limits { max_nesting_depth: 50, ..limits() };
    let engine = engine_with(limits.clone());
    engine.load(&module_with_bodies([nested(BLOCK, 50, 3), nested(LOOP, 50, 1), nested(IF, 50, 1)])).unwrap();
    for open in [BLOCK, LOOP, IF] {
        // The second added function is the deep one: the error names its index.
        let wasm = module_with_bodies([nested(open, 50, 1), nested(open, 51, 1)]);
        assert_eq!(
            refused_before_compiling(limits.clone(), &wasm),
            LoadError::NestingTooDeep { function: FIRST_BODY + 1, depth: 51, limit: 50 }
        );
    }
}

#[test]
fn more_blocks_than_a_function_or_a_module_may_hold_are_refused_and_at_the_limits_load() {
    // Cranelift's time grows with the square of a function's blocks (the defaults keep one
    // function under a fifth of a second); both counts take every kind of block.
    let limits = Limits { max_blocks_per_function: 30, max_blocks: 70, ..limits() };
    let engine = engine_with(limits.clone());
    // Three bodies of 30 blocks each would be 90: two are 60, and one of 10 more is 70.
    engine.load(&module_with_bodies([nested(BLOCK, 10, 3), nested(LOOP, 10, 3), nested(IF, 10, 1)])).unwrap();
    let error =
        refused_before_compiling(limits.clone(), &module_with_bodies([nested(BLOCK, 10, 3), nested(IF, 31, 1)]));
    assert_eq!(error, LoadError::TooManyBlocksInFunction { function: FIRST_BODY + 1, limit: 30 });
    assert_mentions(&error, &["function 4 holds more than 30 blocks", "max_blocks_per_function"]);
    let error = refused_before_compiling(
        limits,
        &module_with_bodies([nested(BLOCK, 10, 3), nested(LOOP, 10, 3), nested(IF, 11, 1)]),
    );
    assert_eq!(error, LoadError::TooManyBlocks { function: FIRST_BODY + 2, limit: 70 });
    assert_mentions(&error, &["module holds more than 70 blocks", "function 5", "max_blocks"]);
}

#[test]
fn a_function_body_over_the_size_limit_is_refused_and_at_the_limit_loads() {
    let limits = Limits { max_function_body_bytes: 1000, ..limits() };
    engine_with(limits.clone()).load(&module_with_bodies([body_of_size(1000)])).unwrap();
    let error = refused_before_compiling(limits, &module_with_bodies([body_of_size(10), body_of_size(1001)]));
    assert_eq!(error, LoadError::FunctionTooLarge { function: FIRST_BODY + 1, size: 1001, limit: 1000 });
    assert_mentions(&error, &["function 4 is 1001 bytes of code", "limit is 1000 bytes", "max_function_body_bytes"]);
}

#[test]
fn more_code_than_the_limit_is_refused_and_at_the_limit_loads() {
    let limits = Limits { max_code_bytes: 1000, ..limits() };
    // The module's own three functions have 14 bytes of code together.
    engine_with(limits.clone()).load(&module_with_bodies([body_of_size(486), body_of_size(500)])).unwrap();
    let error = refused_before_compiling(limits, &module_with_bodies([body_of_size(486), body_of_size(501)]));
    assert_eq!(error, LoadError::TooMuchCode { function: FIRST_BODY + 1, limit: 1000 });
    assert_mentions(&error, &["more than 1000 bytes of code (by function 4)", "max_code_bytes"]);
}

#[test]
fn more_functions_than_the_limit_are_refused() {
    let limits = Limits { max_functions: 10, ..limits() };
    engine_with(limits.clone()).load(&module_with_bodies((0..7).map(|_| body_of_size(3)))).unwrap();
    let error = refused_before_compiling(limits, &module_with_bodies((0..8).map(|_| body_of_size(3))));
    assert_eq!(error, LoadError::TooManyFunctions { count: 11, limit: 10 });
    assert_mentions(&error, &["defines 11 functions", "limit is 10", "max_functions"]);
}

#[test]
fn more_locals_than_the_limit_are_refused_counting_every_group() {
    let limits = Limits { max_locals_per_function: 100, ..limits() };
    engine_with(limits.clone()).load(&module_with_bodies([with_locals(&[60, 40])])).unwrap();
    let error = refused_before_compiling(limits.clone(), &module_with_bodies([with_locals(&[60, 41])]));
    assert_eq!(error, LoadError::TooManyLocals { function: FIRST_BODY, count: 101, limit: 100 });
    assert_mentions(&error, &["function 3 declares 101 locals", "limit is 100", "max_locals_per_function"]);
    // A count near 2^32 is refused without being added up past it.
    let error = refused_before_compiling(limits, &module_with_bodies([with_locals(&[u32::MAX, u32::MAX])]));
    assert_eq!(error, LoadError::TooManyLocals { function: FIRST_BODY, count: u64::from(u32::MAX), limit: 100 });
}

#[test]
fn the_stock_policies_load_with_a_tenth_of_the_shape_limits() {
    // The shape limits leave a wide margin to real rule modules: each stock policy, built with
    // the SDK, loads with a tenth of every default.
    stock_policies_load_with(1, 10, &["user_rules", "group_rules", "default_organization", "contractors"]);
}

#[test]
fn the_javascript_interpreter_module_loads_with_three_quarters_of_the_shape_limits() {
    // js-rules embeds a whole JavaScript engine (QuickJS): the largest stock module by far,
    // about 1.2 MB of code in 1.7 k functions (56% of `max_code_bytes`). The defaults still leave
    // it a quarter of margin on every limit.
    stock_policies_load_with(3, 4, &["js_rules"]);
}

/// Loads each built stock `policies` with every shape limit at `numerator / denominator` of its
/// default.
fn stock_policies_load_with(numerator: u32, denominator: u32, policies: &[&str]) {
    let defaults = Limits::default();
    let scale = |limit: u32| limit / denominator * numerator;
    let scale_bytes = |limit: usize| limit / denominator as usize * numerator as usize;
    let tight = Limits {
        max_functions: scale(defaults.max_functions),
        max_code_bytes: scale_bytes(defaults.max_code_bytes),
        max_function_body_bytes: scale_bytes(defaults.max_function_body_bytes),
        max_nesting_depth: scale(defaults.max_nesting_depth),
        max_blocks_per_function: scale(defaults.max_blocks_per_function),
        max_blocks: scale(defaults.max_blocks),
        max_locals_per_function: scale(defaults.max_locals_per_function),
        // Compiling 1.2 MB of code takes seconds of CPU on a busy machine: this test is about
        // shape, not compile time.
        compile_timeout: std::time::Duration::from_secs(120),
        ..limits()
    };
    let engine = engine_with(tight);
    let built =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm/wasm32-unknown-unknown/wasm-release");
    for policy in policies {
        let path = built.join(format!("{policy}.wasm"));
        let wasm =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-policies", path.display()));
        engine.load(&wasm).unwrap_or_else(|e| panic!("{policy}: {e}"));
    }
}

/// A module that takes a while to compile though it passes every shape limit: functions of
/// dependent arithmetic, each well under the body size limit; the cost grows linearly with
/// `functions`.
fn slow_to_compile(functions: usize) -> Vec<u8> {
    // One `i32` local, loaded from memory (so nothing folds to a constant) and stored back at
    // the end (so nothing is dead); in between, 10 000 statements of `local.get 0`,
    // `i32.const 7`, `i32.mul`, `i32.const 3`, `i32.add`, `local.set 0` (10 bytes each).
    let load = [0x41, 0x00, 0x28, 0x02, 0x00, 0x21, 0x00];
    let statement = [0x20, 0x00, 0x41, 0x07, 0x6c, 0x41, 0x03, 0x6a, 0x21, 0x00];
    let store = [0x41, 0x00, 0x20, 0x00, 0x36, 0x02, 0x00];
    let body = || {
        let mut body = vec![0x01, 0x01, 0x7f];
        body.extend_from_slice(&load);
        for _ in 0..10_000 {
            body.extend_from_slice(&statement);
        }
        body.extend_from_slice(&store);
        body.push(END);
        body
    };
    module_with_bodies((0..functions).map(|_| body()))
}

/// The test [`limits`] with room for [`slow_to_compile`] modules of up to 60 MB (the module
/// and code size limits lifted; every other shape limit holds).
fn roomy() -> Limits {
    Limits { max_module_bytes: 64 << 20, max_code_bytes: 64 << 20, ..limits() }
}

/// A [`slow_to_compile`] module that takes at least `at_least` to compile with this build on
/// this machine (calibrated on one function), or 600 functions (60 MB).
fn compiling_for_at_least(at_least: Duration) -> Vec<u8> {
    let generous = engine_with(Limits { compile_timeout: Duration::from_secs(300), ..roomy() });
    let one = (0..3)
        .map(|_| {
            let started = Instant::now();
            generous.load(&slow_to_compile(1)).unwrap();
            started.elapsed()
        })
        .min()
        .unwrap();
    let functions = (at_least.as_secs_f64() / one.as_secs_f64()).ceil() as usize;
    eprintln!("one function compiles in {one:?}: {functions} functions for {at_least:?}");
    slow_to_compile(functions.clamp(2, 600))
}

#[test]
fn a_timed_out_compile_keeps_its_slot_until_the_compiler_finishes() {
    // One compile slot. A compile that times out goes on in the background, in its slot: while
    // it runs, another compile is refused (with a short wait) rather than piling up beside it.
    let timeout = Duration::from_millis(100);
    let wait = Duration::from_millis(1);
    let engine =
        engine_with(Limits { max_concurrent_compiles: 1, compile_timeout: timeout, compile_wait: wait, ..roomy() });
    let slow = compiling_for_at_least(Duration::from_secs(3));
    assert_eq!(load_error(&engine, &slow), LoadError::CompileTimeout(timeout));
    let error = load_error(&engine, &well_behaved_module());
    assert_eq!(error, LoadError::CompilerBusy { slots: 1, waited: wait });
    assert_mentions(&error, &["all 1 compile slots stayed busy", "try again later"]);
    // When the compiler finishes, the slot is free again.
    let started = Instant::now();
    while let Err(LoadError::CompilerBusy { .. }) = engine.load(&well_behaved_module()) {
        assert!(started.elapsed() < Duration::from_secs(120), "the slot was never freed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_host_still_fine(&engine);
}

#[test]
fn a_compile_over_the_bound_waits_for_a_slot() {
    // With a long enough wait, the second compile waits for the background one and succeeds.
    let timeout = Duration::from_millis(100);
    let engine = engine_with(Limits {
        max_concurrent_compiles: 1,
        compile_timeout: timeout,
        compile_wait: Duration::from_secs(300),
        ..roomy()
    });
    let slow = compiling_for_at_least(Duration::from_secs(1));
    assert_eq!(load_error(&engine, &slow), LoadError::CompileTimeout(timeout));
    assert_host_still_fine(&engine);
}

#[test]
fn a_compile_slot_is_only_taken_to_compile() {
    // A module found in the disk cache is not compiled: it loads while every slot is busy.
    let dir = TempDir::new("slots");
    let limits = Limits {
        max_concurrent_compiles: 1,
        compile_timeout: Duration::from_millis(100),
        compile_wait: Duration::from_millis(1),
        ..roomy()
    };
    let caching = |limits: Limits| {
        muster_engine::Engine::new(muster_engine::EngineConfig {
            limits,
            cache_dir: Some(dir.path().to_owned()),
            ..Default::default()
        })
        .unwrap()
    };
    // Cached by an engine with time to compile it (on a loaded machine, 100 ms may be short).
    caching(Limits { compile_timeout: Duration::from_secs(300), ..limits.clone() })
        .load(&well_behaved_module())
        .unwrap();
    let cached = caching(limits.clone());
    let slow = compiling_for_at_least(Duration::from_secs(3));
    assert_eq!(load_error(&cached, &slow), LoadError::CompileTimeout(limits.compile_timeout));
    assert!(matches!(load_error(&cached, &rule_module(&returns(b"other"))), LoadError::CompilerBusy { .. }));
    assert_eq!(
        evaluate(&cached.load(&well_behaved_module()).unwrap()).unwrap().output,
        good_response().result.unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

#[test]
fn hostile_and_well_behaved_modules_evaluate_concurrently() {
    let engine = engine();
    let good = engine.load(&well_behaved_module()).unwrap();
    let hostile = [
        (engine.load(&module_running(ENDLESS_LOOP)).unwrap(), EvalError::FuelExhausted { limit: 5_000_000 }),
        (
            engine
                .load(&module_running(
                    "(loop $g (br_if $g (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable",
                ))
                .unwrap(),
            EvalError::ResourceLimit { resource: "memory", limit: 4 << 20 },
        ),
        (
            engine
                .load(&rule_module(&format!(
                    "(func $down (param i32) (result i32) (i32.add (call $down (local.get 0)) (i32.const 1))) {}",
                    entry("(i64.extend_i32_u (call $down (i32.const 0)))")
                )))
                .unwrap(),
            EvalError::StackOverflow,
        ),
        (engine.load(&module_running("(i64.const 0xFFFFFFFFFFFFFFFF)")).unwrap(), {
            EvalError::MalformedOutput("response is 4294967295 bytes; the limit is 1048576 bytes".into())
        }),
    ];
    let start = Barrier::new(4 + hostile.len());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                start.wait();
                for _ in 0..20 {
                    let evaluation = evaluate(&good).expect("good module evaluates");
                    assert_eq!(Ok(evaluation.output), good_response().result);
                }
            });
        }
        for (module, expected) in &hostile {
            let start = &start;
            scope.spawn(move || {
                start.wait();
                for _ in 0..3 {
                    assert_eq!(&evaluate(module).unwrap_err(), expected);
                }
            });
        }
    });
    assert_host_still_fine(&engine);
}

#[test]
fn all_instance_slots_busy_is_an_instantiation_error() {
    // Two slots, three endless loops started together: one of them finds no slot.
    let engine = engine_with(Limits { max_concurrent_evaluations: 2, ..unlimited_fuel(Duration::from_millis(1500)) });
    let endless = engine.load(&module_running(ENDLESS_LOOP)).unwrap();
    let start = Barrier::new(3);
    let results: Vec<EvalError> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    evaluate(&endless).unwrap_err()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let timeouts = results.iter().filter(|e| matches!(e, EvalError::Timeout(_))).count();
    let refused: Vec<_> = results.iter().filter(|e| matches!(e, EvalError::Instantiation(_))).collect();
    assert_eq!((timeouts, refused.len()), (2, 1), "{results:?}");
    assert_mentions(refused[0], &["could not be instantiated", "limit of 2"]);
    // The slots are free again.
    assert_host_still_fine(&engine);
}

// ---------------------------------------------------------------------------------------------
// Determinism and isolation.

/// A module that sums the request bytes and decides `even` or `odd` by the parity of the sum,
/// so its work and its answer both depend on the input.
fn parity_module() -> Vec<u8> {
    let even = encode(&parity_response("even"));
    let odd = encode(&parity_response("odd"));
    let odd_at = RESPONSE_AT + 512;
    rule_module(&format!(
        "(data (i32.const {RESPONSE_AT}) {even_bytes})
         (data (i32.const {odd_at}) {odd_bytes})
         {}",
        entry(&format!(
            "(local $sum i32) (local $end i32)
             (local.set $end (i32.add (local.get $ptr) (local.get $len)))
             (block $done
               (loop $next
                 (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
                 (local.set $sum (i32.add (local.get $sum) (i32.load8_u (local.get $ptr))))
                 (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
                 (br $next)))
             (if (result i64) (i32.and (local.get $sum) (i32.const 1))
               (then (i64.const {}))
               (else (i64.const {})))",
            packed(odd_at, odd.len() as u32),
            packed(RESPONSE_AT, even.len() as u32),
        )),
        even_bytes = wat_bytes(&even),
        odd_bytes = wat_bytes(&odd),
    ))
}

/// What [`parity_module`] answers for an `even` or `odd` request.
fn parity_response(parity: &str) -> Response<UserDecision> {
    Response {
        result: Ok(UserDecision { organization: Some(parity.into()), rule: Some("parity".into()), groups: vec![] }),
        trace: vec![muster_wire::TraceStep {
            rule: Some("parity".into()),
            check: format!("request bytes sum to an {parity} number"),
            outcome: muster_wire::Outcome::Matched,
        }],
    }
}

#[test]
fn the_same_input_gives_the_same_output_trace_and_fuel() {
    let engine = engine();
    let module = engine.load(&parity_module()).unwrap();
    let settings = module.prepare_settings(b"{}").unwrap();
    for name in ["ada@acme.com", "grace@acme.com", "x"] {
        let user = User { user_name: name.into(), ..user() };
        let request = codec::encode_user_request(&Context::default(), &settings.0, &user).unwrap();
        let parity = if request.iter().map(|&b| u32::from(b)).sum::<u32>() % 2 == 1 { "odd" } else { "even" };
        let first = module.evaluate_user(&settings, &Context::default(), &user).unwrap();
        let second = module.evaluate_user(&settings, &Context::default(), &user).unwrap();
        // A second engine and a second load give the same too.
        let other = engine_with(limits()).load(&parity_module()).unwrap();
        let third = other.evaluate_user(&settings, &Context::default(), &user).unwrap();
        assert_eq!(Ok(first.output.clone()), parity_response(parity).result, "{name}");
        for again in [&second, &third] {
            assert_eq!(again.output, first.output);
            assert_eq!(again.trace, first.trace);
            assert_eq!(again.fuel_consumed, first.fuel_consumed);
        }
    }
}

#[test]
fn fuel_consumed_measures_the_work_done() {
    let engine = engine();
    let module = engine.load(&parity_module()).unwrap();
    let settings = module.prepare_settings(b"{}").unwrap();
    let fuel = |name: &str| {
        let user = User { user_name: name.into(), ..user() };
        module.evaluate_user(&settings, &Context::default(), &user).unwrap().fuel_consumed
    };
    let short = fuel("a");
    let long = fuel(&"a".repeat(1000));
    assert!(long > short + 1000 * 5, "1000 more bytes cost only {} fuel more", long - short);
}

#[test]
fn no_state_leaks_between_evaluations() {
    let engine = engine();
    // The module counts its calls in a global and marks memory; it only answers when it sees
    // neither from an earlier evaluation (every evaluation gets a fresh instance).
    let wasm = module_answering_after(
        "(global $calls (mut i32) (i32.const 0))",
        &format!(
            "(global.set $calls (i32.add (global.get $calls) (i32.const 1)))
             (if (i32.ne (global.get $calls) (i32.const 1)) (then unreachable))
             (if (i32.ne (i32.load (i32.const {SCRATCH_AT})) (i32.const 0)) (then unreachable))
             (i32.store (i32.const {SCRATCH_AT}) (i32.const 0xDEAD))
             (if (i32.ne (memory.size) (i32.const 1)) (then unreachable))
             (drop (memory.grow (i32.const 3)))"
        ),
    );
    let module = engine.load(&wasm).unwrap();
    for _ in 0..5 {
        assert_eq!(Ok(evaluate(&module).expect("a fresh instance").output), good_response().result);
    }
}

#[test]
fn a_guest_reported_error_is_not_a_crash() {
    let engine = engine();
    let response: Response<UserDecision> =
        Response { result: Err(GuestError::Rule("attribute `department` missing".into())), trace: vec![] };
    let error = eval_error(&engine, &rule_module(&returns(&encode(&response))));
    assert_eq!(error, EvalError::Guest("rule failed: attribute `department` missing".into()));
    assert_host_still_fine(&engine);
}
