//! `login_load`: a load generator for Muster's login endpoint (target: ≥ 20,000 logins/s
//! over loopback on two cores, p99 ≤ 5 ms). `scripts/load-login` builds it, starts a demo
//! server and runs it; `login_load --help` lists the options.
//!
//! * [`args`]: the command line;
//! * [`workload`]: the users and their login bodies;
//! * [`http`]: the keep-alive HTTP/1.1 client;
//! * [`load`]: the closed- and open-loop client loops and their tallies;
//! * [`churn`]: module activations during the run (`--activate-every`);
//! * [`shadow`]: a shadow user-rules version during the run (`--shadow`);
//! * [`cpu`]: the CPU the generator and the watched processes (`--cpu-of`) use;
//! * [`report`]: the summary, as text or JSON.
//!
//! Exits 0 when every request tallied succeeded, 1 when some failed, 2 when the run could not
//! be made (bad arguments, server unreachable, the first login refused).

mod args;
mod churn;
mod cpu;
mod http;
mod load;
mod people;
mod report;
mod rng;
mod shadow;
mod workload;

use std::{process::ExitCode, sync::Arc, time::Instant};

use anyhow::{Context as _, bail};
use clap::Parser as _;
use hyper::{Method, StatusCode};

use crate::{
    args::Args,
    churn::Churn,
    cpu::Watch,
    http::{Target, bearer_from_file},
    load::{Logins, Plan},
    report::{CpuUse, FloorSummary, ShadowSummary, Summary},
    shadow::Shadow,
};

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads as usize)
        .enable_all()
        .build()
        .expect("a Tokio runtime starts");
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("login_load: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the load as `args` say and prints the summary; `Ok(false)` when some request failed.
async fn run(args: Args) -> anyhow::Result<bool> {
    anyhow::ensure!(!args.duration.is_zero(), "--duration must be longer than 0");
    let target = Target::parse(&args.url)?;
    let authorization = bearer_from_file(&args.token_file)?;
    let uri = target.uri(&format!("/v1/tenants/{}/realms/{}/login", args.tenant, args.realm))?;
    let bodies: Vec<_> = (0..args.users).map(|user| workload::login_body(user, args.groups)).collect();
    let logins = Arc::new(Logins::new(target.clone(), uri.clone(), authorization.clone(), bodies.clone()));

    // One login first, so a wrong URL, key or realm fails at once with the server's answer.
    let (status, body) = target
        .connect()
        .await
        .with_context(|| format!("cannot reach {}", args.url))?
        .send(target.request(Method::POST, uri, &authorization, workload::login_body(0, args.groups)))
        .await?;
    if status != StatusCode::OK {
        bail!("the first login was answered {status}: {}", String::from_utf8_lossy(&body));
    }

    if args.prime {
        let started = Instant::now();
        load::prime(&logins, args.connections).await.context("priming failed")?;
        eprintln!("primed: {} users logged in once in {:.1} s", args.users, started.elapsed().as_secs_f64());
    }

    let floor = if args.floor {
        let floor = Arc::new(Logins::new(target.clone(), target.uri("/floor")?, authorization.clone(), bodies));
        let tally = load::run(&floor, args.connections, plan_from_now(&args), args.show_errors).await?;
        anyhow::ensure!(
            tally.errors.is_empty(),
            "the floor failed ({:?}): does the server run with --benchmark-floor=true?",
            tally.errors
        );
        Some(tally)
    } else {
        None
    };

    let churn = match (&args.admin_token_file, args.activate_every) {
        (Some(admin_token_file), Some(every)) => {
            let admin = bearer_from_file(admin_token_file)?;
            let churn = Churn::prepare(&target, admin, &args.tenant, &args.realm, every, &args.user_rules_wasm)
                .await
                .context("cannot prepare the activation churn")?;
            Some(churn)
        }
        _ => None,
    };

    let shadow = match (&args.admin_token_file, args.shadow) {
        (Some(admin_token_file), true) => {
            let admin = bearer_from_file(admin_token_file)?;
            let shadow = Shadow::start(&target, admin, &args.tenant, &args.realm, &args.user_rules_wasm)
                .await
                .context("cannot set up shadow mode")?;
            eprintln!("shadow: version {} runs beside active version {}", shadow.versions[1], shadow.versions[0]);
            Some(shadow)
        }
        _ => None,
    };

    let plan = plan_from_now(&args);
    let churn = churn.map(|churn| tokio::spawn(churn.run(plan, args.show_errors)));
    let mut watches = vec![Watch::Pid(std::process::id())];
    watches.extend(args.cpu_of.iter().cloned());
    let watches = Arc::new(watches);
    // The shadow counters when counting starts (only the measured run's evaluations count).
    let shadow = shadow.map(|shadow| {
        let shadow = Arc::new(shadow);
        let reading = tokio::spawn({
            let shadow = Arc::clone(&shadow);
            async move {
                tokio::time::sleep_until(plan.measure_from.into()).await;
                shadow.counters().await
            }
        });
        (shadow, reading)
    });
    let cpu_before = tokio::spawn({
        let watches = Arc::clone(&watches);
        async move {
            tokio::time::sleep_until(plan.measure_from.into()).await;
            let at = Instant::now();
            (at, tokio::task::spawn_blocking(move || watches.iter().map(Watch::sample).collect::<Vec<_>>()).await)
        }
    });
    let tally = load::run(&logins, args.connections, plan, args.show_errors).await?;
    let churn = match churn {
        Some(task) => Some(task.await.context("the churn task panicked")?),
        None => None,
    };
    let (measured_from, before) = cpu_before.await?;
    let before = before?;
    let wall = measured_from.elapsed().as_secs_f64();
    let cpu = watches
        .iter()
        .zip(&before)
        .enumerate()
        .map(|(index, (watch, before))| {
            let seconds = watch.sample().seconds_since(before);
            let process = if index == 0 { "login_load".to_owned() } else { watch.to_string() };
            CpuUse { process, seconds, cores: seconds.map(|seconds| seconds / wall) }
        })
        .collect();

    let shadow = match shadow {
        Some((shadow, reading)) => {
            let before = reading
                .await
                .context("the shadow counter task panicked")?
                .context("cannot read the shadow counters")?;
            let shadow = Arc::into_inner(shadow).context("the shadow is still shared")?;
            Some(shadow.finish(&before).await?)
        }
        None => None,
    };

    for sample in &tally.samples {
        eprintln!("error sample: {sample}");
    }
    let mut summary = Summary::new(&args, &tally, churn.as_ref(), cpu);
    summary.shadow = shadow.map(|shadow| ShadowSummary::of(shadow, summary.duration_s));
    summary.floor = floor.map(|floor| FloorSummary::of(&floor, summary.duration_s, summary.success_rps));
    summary.print(args.json);
    Ok(tally.errors.is_empty() && tally.successes > 0)
}

/// A run that starts now: its warm-up, its measured part, and (open loop) its rate.
fn plan_from_now(args: &Args) -> Plan {
    let begin = Instant::now();
    Plan { begin, measure_from: begin + args.warmup, end: begin + args.warmup + args.duration, rate: args.rate }
}
