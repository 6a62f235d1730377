//! The cold path (targets: upload to first decision ≤ 150 ms for a ~200 KB module;
//! restart with the on-disk cache ≤ 5 ms per module).
//!
//! * `compile`: `Engine::load` of `user_rules.wasm` on an engine without a disk cache and
//!   without compiled functions to reuse (validate, compile with Cranelift, check the contract,
//!   pre-link, ask the ABI version): the first upload of new code;
//! * `cache_load`: `Engine::load` on an engine whose disk cache already holds the module's
//!   compiled code (`load` keeps nothing in memory, so every call reads and deserializes the
//!   entry from disk: what a restart costs per module);
//! * `upload_to_first_decision`: on a new engine (no disk cache, no compiled functions),
//!   `load` + `prepare_settings` of the 20-rule settings + their settings snapshot
//!   (`snapshot_settings`: load them, write the snapshot, compile it, reusing the functions
//!   `load` compiled) + one `evaluate_user` on it, as the service's first decision;
//! * `snapshot_settings`: the settings snapshot alone, of a module the engine compiled (no disk
//!   cache; its functions are in the engine's compile cache, as after an upload);
//! * `snapshot_settings_without_compile_cache`: the same on an engine that keeps no compiled
//!   functions (`compile_cache_bytes: 0`), which compiles the snapshot from scratch;
//! * `cache_snapshot`: the settings snapshot on an engine whose disk cache holds its code (load
//!   the settings, write the snapshot, read its code from disk): what a restart costs per
//!   version, beside `cache_load` per module;
//! * `compile_group_rules`: `Engine::load` (no caches) of the built `group_rules.wasm`, which is
//!   close to the 200 KB of the target (skipped when it has not been built).
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::{hint::black_box, time::Duration};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use muster_benches::{TempDir, context, settings_json, user, user_rules_wasm};
use muster_engine::{Engine, EngineConfig};

fn cold_path(c: &mut Criterion) {
    let wasm = user_rules_wasm();
    eprintln!("user_rules.wasm: {} bytes", wasm.len());
    let mut group = c.benchmark_group("cold_path");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));

    // An engine that keeps no compiled functions compiles every load from scratch.
    let uncached = Engine::new(EngineConfig { compile_cache_bytes: 0, ..EngineConfig::default() }).expect("engine");
    group.bench_function("compile", |b| b.iter(|| black_box(uncached.load(black_box(&wasm)).expect("load"))));

    let cache_dir = TempDir::new("muster-bench-cache");
    let cached =
        Engine::new(EngineConfig { cache_dir: Some(cache_dir.path().to_path_buf()), ..EngineConfig::default() })
            .expect("engine with a disk cache");
    cached.load(&wasm).expect("warm the cache");
    let entries = std::fs::read_dir(cache_dir.path()).expect("cache dir").count();
    assert_eq!(entries, 1, "the warm-up load left one cache entry");
    // A fresh engine on the same directory, as after a restart.
    let restarted =
        Engine::new(EngineConfig { cache_dir: Some(cache_dir.path().to_path_buf()), ..EngineConfig::default() })
            .expect("engine with a disk cache");
    group.bench_function("cache_load", |b| b.iter(|| black_box(restarted.load(black_box(&wasm)).expect("load"))));
    let cached_module = restarted.load(&wasm).expect("load");
    let cached_settings = cached_module.prepare_settings(settings_json().as_bytes()).expect("settings");
    restarted.snapshot_settings(&cached_module, &cached_settings).expect("warm the cache with the snapshot");
    group.bench_function("cache_snapshot", |b| {
        b.iter(|| black_box(restarted.snapshot_settings(&cached_module, &cached_settings).expect("snapshot")))
    });

    let (settings_json, context, user) = (settings_json(), context(), user());
    group.bench_function("upload_to_first_decision", |b| {
        b.iter_batched(
            || Engine::new(EngineConfig::default()).expect("engine"),
            |engine| {
                let module = engine.load(black_box(&wasm)).expect("load");
                let settings = module.prepare_settings(settings_json.as_bytes()).expect("settings");
                let snapshot = engine.snapshot_settings(&module, &settings).expect("snapshot");
                let decision = snapshot.evaluate_user(&settings, &context, &user).expect("evaluation");
                // The engine is dropped outside the measurement.
                (engine, black_box(decision))
            },
            BatchSize::PerIteration,
        )
    });
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let module = engine.load(&wasm).expect("load");
    let settings = module.prepare_settings(settings_json.as_bytes()).expect("settings");
    group.bench_function("snapshot_settings", |b| {
        b.iter(|| black_box(engine.snapshot_settings(&module, &settings).expect("snapshot")))
    });
    let uncached_module = uncached.load(&wasm).expect("load");
    group.bench_function("snapshot_settings_without_compile_cache", |b| {
        b.iter(|| black_box(uncached.snapshot_settings(&uncached_module, &settings).expect("snapshot")))
    });
    let group_rules = muster_harness::subject::built_artifact("group_rules");
    match std::fs::read(&group_rules) {
        Ok(wasm) => {
            eprintln!("group_rules.wasm: {} bytes", wasm.len());
            group.bench_function("compile_group_rules", |b| {
                b.iter(|| black_box(uncached.load(black_box(&wasm)).expect("load")))
            });
        }
        Err(_) => eprintln!("{} not built: skipping compile_group_rules", group_rules.display()),
    }
    group.finish();
}

criterion_group!(benches, cold_path);
criterion_main!(benches);
