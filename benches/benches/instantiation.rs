//! The bare cost of an isolated evaluation: a fresh instance of the smallest module the
//! contract accepts, `muster_alloc`, the request written in, `muster_user_rules` answering a
//! constant decision, the response read out and decoded. Everything the user-rules evaluation
//! costs beyond this is the guest's own work (decoding, matching, tracing, encoding).
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use muster_benches::{context, minimal_decision, minimal_module_wat, quick_criterion, tiny_user};
use muster_engine::{Engine, EngineConfig, PreparedSettings};

fn instantiation(c: &mut Criterion) {
    let wasm = wat::parse_str(minimal_module_wat()).expect("the minimal module is valid WAT");
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let module = engine.load(&wasm).expect("the minimal module satisfies the contract");
    let settings = PreparedSettings(Vec::new());
    let (context, user) = (context(), tiny_user());
    let first = module.evaluate_user(&settings, &context, &user).expect("evaluation");
    assert_eq!(first.output, minimal_decision());
    eprintln!("minimal module: {} bytes, {} fuel per evaluation", wasm.len(), first.fuel_consumed);

    c.bench_function("instantiation/minimal_module", |b| {
        b.iter(|| black_box(module.evaluate_user(&settings, &context, black_box(&user)).expect("evaluation")))
    });
}

criterion_group! { name = benches; config = quick_criterion(); targets = instantiation }
criterion_main!(benches);
