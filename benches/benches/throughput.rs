//! Evaluations per second of the 20-rule workload (target: ≥ 150,000/s on two cores):
//! `iter_custom` splits the iterations between threads sharing one `RuleModule`, each running
//! its share of isolated evaluations (fresh instances of the settings snapshot, as the service
//! runs them); criterion reports elements (evaluations) per second.
//! `one_thread` is the same loop on a single thread, for the scaling.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use muster_benches::{Workload, quick_criterion};

fn run(workload: &Workload, threads: u64, iters: u64) -> Duration {
    let module = &workload.snapshot;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            // Hand out the remainder so exactly `iters` evaluations run.
            let share = iters / threads + u64::from(t < iters % threads);
            scope.spawn(move || {
                for _ in 0..share {
                    black_box(
                        module
                            .evaluate_user(&workload.settings, &workload.context, &workload.user)
                            .expect("evaluation"),
                    );
                }
            });
        }
    });
    started.elapsed()
}

fn throughput(c: &mut Criterion) {
    let workload = Workload::load();
    workload.check();
    // The machine is shared: say how much of two cores a CPU-bound loop gets right now, and how
    // many cores the evaluations actually used.
    eprintln!("two threads of a pure CPU loop: {:.2}x one thread", muster_benches::two_core_spin_speedup());
    for threads in [1, 2] {
        let cpu_before = muster_benches::process_cpu_seconds();
        let wall = run(&workload, threads, 20_000);
        if let (Some(before), Some(after)) = (cpu_before, muster_benches::process_cpu_seconds()) {
            eprintln!(
                "{threads} thread(s): {:.0} evaluations/s, {:.2} cores busy",
                20_000.0 / wall.as_secs_f64(),
                (after - before) / wall.as_secs_f64()
            );
        }
    }

    let mut group = c.benchmark_group("throughput_20_rules");
    group.throughput(Throughput::Elements(1));
    group.bench_function("two_threads", |b| b.iter_custom(|iters| run(&workload, 2, iters)));
    group.bench_function("one_thread", |b| b.iter_custom(|iters| run(&workload, 1, iters)));
    group.finish();
}

criterion_group! { name = benches; config = quick_criterion(); targets = throughput }
criterion_main!(benches);
