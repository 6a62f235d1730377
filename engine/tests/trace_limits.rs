//! A module cannot make the host keep an unbounded trace: past `max_trace_steps` steps or
//! `max_trace_bytes` bytes of trace text, the steps are dropped and one marker step says how
//! many; the decision still stands.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod support;

use muster_engine::{Limits, trace};
use muster_wire::{Outcome, Response, TraceStep, UserDecision};
use support::*;

/// Where [`answering`] places its response: past the input the allocator hands out.
const BIG_RESPONSE_AT: u32 = 0x10000;

/// A rule module whose user rules answer with `response` (up to 1 MiB and more), held in a data
/// segment at [`BIG_RESPONSE_AT`] of a memory large enough for it.
fn answering(response: &[u8]) -> Vec<u8> {
    let pages = (BIG_RESPONSE_AT as usize + response.len()).div_ceil(PAGE) + 1;
    wat(&format!(
        r#"(module
  (memory (export "memory") {pages})
  (global $heap (mut i32) (i32.const {HEAP_START}))
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (if (i32.gt_u (i32.add (local.get $ptr) (local.get $len)) (i32.const {BIG_RESPONSE_AT})) (then unreachable))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (local.get $ptr))
  (data (i32.const {BIG_RESPONSE_AT}) {data})
  (func (export "muster_user_rules") (param i32 i32) (result i64) (i64.const {packed}))
)"#,
        data = wat_bytes(response),
        packed = packed(BIG_RESPONSE_AT, response.len() as u32),
    ))
}

/// The well-behaved decision with `trace`.
fn deciding_with(trace: Vec<TraceStep>) -> Vec<u8> {
    let mut response: Response<UserDecision> = good_response();
    response.trace = trace;
    encode(&response)
}

fn empty_step() -> TraceStep {
    TraceStep { rule: None, check: String::new(), outcome: Outcome::Matched }
}

#[test]
fn a_one_mib_answer_of_empty_steps_keeps_the_step_cap_and_ends_with_the_marker() {
    // The finding: a valid answer of ~1 MiB, every byte triple one empty trace step.
    let steps = ((1 << 20) - 64) / 3;
    let response = deciding_with(vec![empty_step(); steps]);
    assert!(response.len() <= Limits::default().max_output_bytes, "{} bytes", response.len());
    let engine = engine();
    let evaluation = load_and_evaluate(&engine, &answering(&response)).unwrap();

    assert_eq!(Ok(evaluation.output), good_response().result, "the decision stands");
    let cap = Limits::default().max_trace_steps;
    assert_eq!(evaluation.trace.len(), cap + 1, "the cap's steps, then the marker");
    assert!(evaluation.trace[..cap].iter().all(|step| *step == empty_step()));
    let marker = evaluation.trace.last().unwrap();
    assert_eq!(*marker, trace::marker(trace::Dropped { steps: steps - cap, bytes: 0 }));
    assert_eq!(marker.outcome, Outcome::Note);
    assert_mentions(&marker.check, &["trace truncated", &format!("{} more steps", steps - cap)]);
    assert_host_still_fine(&engine);
}

#[test]
fn trace_text_past_the_byte_cap_is_dropped_with_the_marker() {
    let step = |n: usize| TraceStep {
        rule: Some(format!("rule-{n:03}")),
        check: "x".repeat(992),
        outcome: Outcome::NotMatched,
    };
    let response = deciding_with((0..100).map(step).collect());
    // Each step is 8 + 992 = 1000 bytes of text: 10 fit in 10,500 bytes.
    let engine = engine_with(Limits { max_trace_bytes: 10_500, ..limits() });
    let evaluation = load_and_evaluate(&engine, &answering(&response)).unwrap();

    assert_eq!(Ok(evaluation.output), good_response().result);
    assert_eq!(evaluation.trace.len(), 11);
    assert_eq!(evaluation.trace[..10], (0..10).map(step).collect::<Vec<_>>()[..], "a prefix, in order");
    assert_eq!(evaluation.trace[10], trace::marker(trace::Dropped { steps: 90, bytes: 90_000 }));
}

#[test]
fn a_trace_at_the_caps_is_kept_whole() {
    let trace: Vec<TraceStep> =
        (0..8).map(|n| TraceStep { rule: None, check: format!("check {n}"), outcome: Outcome::Matched }).collect();
    let bytes: usize = trace.iter().map(trace::text_bytes).sum();
    let engine = engine_with(Limits { max_trace_steps: 8, max_trace_bytes: bytes, ..limits() });
    let evaluation = load_and_evaluate(&engine, &answering(&deciding_with(trace.clone()))).unwrap();
    assert_eq!(evaluation.trace, trace, "no marker when nothing is dropped");

    let one_less = engine_with(Limits { max_trace_steps: 7, max_trace_bytes: bytes, ..limits() });
    let evaluation = load_and_evaluate(&one_less, &answering(&deciding_with(trace.clone()))).unwrap();
    assert_eq!(evaluation.trace[..7], trace[..7]);
    assert_eq!(evaluation.trace[7], trace::marker(trace::Dropped { steps: 1, bytes: 7 }));
}
