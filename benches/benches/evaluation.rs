//! One isolated evaluation of the 20-rule user-rules workload (target: median ≤ 10 µs,
//! ≤ 5× native, ≥ 3× faster than regorus), three ways in one group:
//!
//! * `wasm`: `RuleModule::evaluate_user` of the built `user_rules.wasm`'s settings snapshot, as
//!   the service runs it (fresh instance of the snapshot, request encoded, response decoded,
//!   trace included);
//! * `wasm_without_snapshot`: the same on the module as uploaded, whose fresh instance decodes
//!   the settings on every call (the lever the snapshot is, measured in the same run);
//! * `native`: the same policy compiled natively, through the SDK's runtime entry point on the
//!   same encoded request (decode request and settings, decide, encode response);
//! * `regorus`: the equivalent Rego policy (`benches/rego/user_rules.rego`), engine prepared
//!   once, input set and decision rule evaluated per iteration (`Engine::eval_rule`).
//!
//! Two more, to read the three above:
//!
//! * `native_decide_only`: the rules alone, natively (`decide_user` with the trace, on settings
//!   decoded once). The SDK's native runtime (`native`) decodes the prepared settings on every
//!   call and, natively, that compiles every regex again (inside the sandbox the host keeps
//!   them compiled per module), so `native` is dominated by regex compilation; this one is the
//!   floor for the same rules compiled natively.
//! * `regorus_rvm`: the same Rego policy compiled for regorus's register VM (`RegoVM`), VM
//!   prepared once, `set_input` + `execute` per iteration: regorus's fastest mode.
//!
//! A group of its own, `user_rules_20_rules_js`, runs the same rules written in JavaScript on
//! the stock js-rules module (`js`: a fresh instance of its settings snapshot, QuickJS with the
//! script already evaluated), so `-- js` runs it alone.
//!
//! A second group, `user_rules_wasm_breakdown`, runs the wasm evaluation (on settings snapshots)
//! with empty settings and/or a tiny user (and prints the fuel of each), to show where the time
//! goes.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use muster_benches::{
    Workload, check_rego_matches, quick_criterion, rego_decide, rego_engine, rego_input, rego_vm, rego_vm_decide,
};

/// What an evaluation's first call took, before criterion's runs.
fn print_first_call<T>(label: &str, first: &muster_engine::Evaluation<T>) {
    eprintln!(
        "{label} evaluation: {} fuel, {} trace steps, {:?} (first call)",
        first.fuel_consumed,
        first.trace.len(),
        first.duration
    );
}

fn evaluation(c: &mut Criterion) {
    let workload = Workload::load();
    let decision = workload.check();
    check_rego_matches(&decision);
    print_first_call("wasm", &workload.evaluate_wasm());

    let mut group = c.benchmark_group("user_rules_20_rules");
    eprintln!(
        "kept in memory: the module {} bytes (compiled code and its source), its settings snapshot {} bytes",
        workload.module.code_bytes(),
        workload.snapshot.code_bytes()
    );
    let uploaded = workload.evaluate_wasm_without_snapshot();
    eprintln!("wasm evaluation without the settings snapshot: {} fuel", uploaded.fuel_consumed);
    group.bench_function("wasm", |b| b.iter(|| black_box(workload.evaluate_wasm())));
    group.bench_function("wasm_without_snapshot", |b| b.iter(|| black_box(workload.evaluate_wasm_without_snapshot())));
    group.bench_function("native", |b| {
        b.iter(|| {
            black_box(muster_guest::runtime::user_rules::<muster_benches::Policy>(black_box(&workload.native_request)))
        })
    });
    let mut rego = rego_engine();
    let input = rego_input(&workload.user);
    // The first evaluation prepares (compiles) the policy; keep it out of the measurement.
    black_box(rego_decide(&mut rego, &input));
    group.bench_function("regorus", |b| {
        b.iter(|| {
            rego.set_input(input.clone());
            black_box(rego.eval_rule(muster_benches::REGO_DECISION_RULE.into()).expect("decision"))
        })
    });
    let settings = workload.native_loaded_settings();
    group.bench_function("native_decide_only", |b| {
        b.iter(|| black_box(Workload::decide_native(&settings, black_box(&workload.user), &workload.context)))
    });
    let mut vm = rego_vm();
    black_box(rego_vm_decide(&mut vm, &input));
    group.bench_function("regorus_rvm", |b| {
        b.iter(|| {
            vm.set_input(input.clone());
            black_box(vm.execute().expect("decision"))
        })
    });
    group.finish();

    let js = muster_benches::JsWorkload::load();
    print_first_call("js", &js.check());
    let mut group = c.benchmark_group("user_rules_20_rules_js");
    group.bench_function("js", |b| b.iter(|| black_box(js.evaluate())));
    group.finish();

    // Where the wasm time goes: the same evaluation with less to decode.
    let mut group = c.benchmark_group("user_rules_wasm_breakdown");
    for (label, settings_json, user) in muster_benches::breakdown_cases() {
        let settings = workload.module.prepare_settings(settings_json.as_bytes()).expect("settings");
        let module = workload.engine.snapshot_settings(&workload.module, &settings).expect("snapshot");
        let evaluation = module.evaluate_user(&settings, &workload.context, &user).expect("evaluation");
        eprintln!(
            "{label}: {} fuel, {} trace steps, request {} bytes (the settings are in the snapshot)",
            evaluation.fuel_consumed,
            evaluation.trace.len(),
            muster_wire::codec::encode_user_request(&workload.context, &[], &user).expect("encode").len()
        );
        group.bench_function(label, |b| {
            b.iter(|| black_box(module.evaluate_user(&settings, &workload.context, &user).expect("evaluation")))
        });
    }
    group.finish();
}

criterion_group! { name = benches; config = quick_criterion(); targets = evaluation }
criterion_main!(benches);
