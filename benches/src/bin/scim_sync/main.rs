//! `scim_sync`: an Entra ID initial provisioning cycle against Muster's SCIM 2.0 endpoint, as a
//! benchmark (target: ≥ 2,000 provisioning writes/s with the rules evaluated on each;
//! Entra itself asks for 25/s). `scripts/load-scim` builds it, starts a demo server and runs
//! it; `scim_sync --help` lists the options.
//!
//! * [`args`]: the command line;
//! * [`workload`]: the users, groups and memberships, and what the demo rules make of them;
//! * [`http`]: the keep-alive HTTP/1.1 client (shared with `login_load`);
//! * [`client`]: the side requests: SCIM credential and token, `/metrics`, admin reads;
//! * [`phase`]: a queue of writes drained by N connections, tallied;
//! * [`check`]: the server's state after the sync;
//! * [`cpu`]: the CPU the generator and the watched processes use (shared with `login_load`);
//! * [`report`]: the summary, as a table or JSON.
//!
//! Exits 0 when every write succeeded and the check passed, 1 otherwise, 2 when the sync could
//! not be made (bad arguments, server unreachable, no SCIM token).

mod args;
mod check;
mod client;
#[path = "../login_load/cpu.rs"]
mod cpu;
#[path = "../login_load/http.rs"]
mod http;
#[path = "../login_load/people.rs"]
mod people;
mod phase;
mod report;
#[path = "../login_load/rng.rs"]
mod rng;
mod workload;

use std::{collections::BTreeMap, process::ExitCode, sync::Arc, time::Instant};

use anyhow::Context as _;
use clap::Parser as _;
use hyper::{Method, header::HeaderValue};

use crate::{
    args::Args,
    client::Client,
    cpu::Watch,
    http::{Target, bearer_from_file},
    phase::{Outcome, Write},
    report::{PhaseSummary, Summary},
    workload::Groups,
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
            eprintln!("scim_sync: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The three phases, the check and the summary; `Ok(false)` when a write failed or the check
/// found a difference.
async fn run(args: Args) -> anyhow::Result<bool> {
    let target = Target::parse(&args.url)?;
    let groups = Groups::new(args.groups, args.department_groups)?;
    let admin = bearer_from_file(&args.admin_token_file)?;
    let mut client = Client::connect(&target).await.with_context(|| format!("cannot reach {}", args.url))?;
    let scim = client.scim_token(&admin, &args.tenant, &args.realm).await?;
    let scim_base = format!("/scim/{}/{}/v2", args.tenant, args.realm);
    let mut watches = vec![Watch::Pid(std::process::id())];
    watches.extend(args.cpu_of.iter().cloned());
    let mut meter = Meter { client, watches: Arc::new(watches) };
    let mut phases = Vec::new();
    let mut outcomes = Vec::new();

    // 1. Every user.
    let writes = (0..args.users)
        .map(|index| {
            Ok(Write {
                method: Method::POST,
                uri: target.uri(&format!("{scim_base}/Users"))?,
                body: workload::user_body(index),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (users, summary) = meter.phase("POST /Users", &target, &scim, writes, &args, true).await?;
    phases.push(summary);
    let user_ids = users.ids.clone();
    outcomes.push(users);

    // 2. Every group, without members.
    let writes = (0..args.groups)
        .map(|index| {
            Ok(Write {
                method: Method::POST,
                uri: target.uri(&format!("{scim_base}/Groups"))?,
                body: groups.body(index),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (created, summary) = meter.phase("POST /Groups", &target, &scim, writes, &args, true).await?;
    phases.push(summary);
    let group_ids = created.ids.clone();
    outcomes.push(created);

    // 3. Memberships, `--batch` per PATCH.
    let (writes, memberships) = membership_writes(&target, &scim_base, &groups, &args, &user_ids, &group_ids)?;
    let (patched, summary) = meter.phase("PATCH /Groups members", &target, &scim, writes, &args, false).await?;
    phases.push(summary);
    outcomes.push(patched);

    let total_wall: f64 = phases.iter().map(|p| p.wall_s).sum();
    let mut latency = phase::histogram();
    outcomes.iter().for_each(|o| latency.add(&o.latency).expect("same bounds"));
    let mut evaluations = BTreeMap::new();
    for (key, count) in phases.iter().flat_map(|p| &p.evaluations_by_trigger) {
        *evaluations.entry(key.clone()).or_default() += count;
    }
    let total = PhaseSummary::from_parts(
        "total",
        phases.iter().map(|p| p.writes).sum(),
        phases.iter().map(|p| p.errors).sum(),
        total_wall,
        evaluations,
        &latency,
        Vec::new(),
    );
    phases.push(total);

    let admin_users = format!("/v1/tenants/{}/realms/{}/users", args.tenant, args.realm);
    let expected = check::Expected {
        users: args.users,
        groups: &groups,
        memberships: args.memberships,
        user_ids: &user_ids,
        sample: args.check_sample,
    };
    let check = check::run(&mut meter.client, &scim, &admin, &scim_base, &admin_users, expected).await;

    for sample in outcomes.iter().flat_map(|o| &o.samples).take(args.show_errors) {
        eprintln!("error sample: {sample}");
    }
    let ok = outcomes.iter().all(|o| o.errors.is_empty()) && check.passed();
    let summary = Summary {
        scim_url: format!("{}{scim_base}/", args.url.trim_end_matches('/')),
        users: args.users,
        groups: args.groups,
        memberships,
        batch: args.batch,
        department_groups: args.department_groups,
        connections: args.connections,
        phases,
        check,
    };
    summary.print(args.json);
    Ok(ok)
}

/// The PATCHes adding every membership: each group's members in batches of `--batch`, sent
/// round by round (every group's first batch, then every group's second, …) so that the
/// connections mostly work on different groups at once. Members whose user or group failed to be
/// created are left out. Answers the writes and the number of memberships they add.
fn membership_writes(
    target: &Target,
    scim_base: &str,
    groups: &Groups,
    args: &Args,
    user_ids: &[Option<String>],
    group_ids: &[Option<String>],
) -> anyhow::Result<(Vec<Write>, u64)> {
    let mut members: Vec<Vec<&str>> = vec![Vec::new(); args.groups as usize];
    for (index, id) in user_ids.iter().enumerate() {
        let Some(id) = id else { continue };
        for group in groups.of_user(index as u64, args.memberships) {
            members[group as usize].push(id);
        }
    }
    let batch = args.batch as usize;
    let rounds = members.iter().map(|m| m.len().div_ceil(batch)).max().unwrap_or(0);
    let mut writes = Vec::new();
    let mut memberships = 0;
    for round in 0..rounds {
        for (group, members) in members.iter().enumerate() {
            let (Some(group_id), Some(chunk)) = (&group_ids[group], members.chunks(batch).nth(round)) else { continue };
            memberships += chunk.len() as u64;
            writes.push(Write {
                method: Method::PATCH,
                uri: target.uri(&format!("{scim_base}/Groups/{group_id}"))?,
                body: workload::add_members_body(chunk),
            });
        }
    }
    Ok((writes, memberships))
}

/// Measures phases: the server's evaluation counter and the watched processes' CPU around each.
struct Meter {
    client: Client,
    watches: Arc<Vec<Watch>>,
}

impl Meter {
    /// Runs one phase and summarizes it.
    async fn phase(
        &mut self,
        name: &str,
        target: &Target,
        scim: &HeaderValue,
        writes: Vec<Write>,
        args: &Args,
        capture_ids: bool,
    ) -> anyhow::Result<(Outcome, PhaseSummary)> {
        eprintln!("{name}: {} writes…", writes.len());
        let before = self.client.evaluations().await.context("cannot read /metrics")?;
        let cpu_before: Vec<_> = self.watches.iter().map(Watch::sample).collect();
        let started = Instant::now();
        let outcome = phase::run(target, scim, writes, args.connections, capture_ids, args.show_errors).await;
        let wall = started.elapsed().as_secs_f64();
        let cpu = self
            .watches
            .iter()
            .zip(&cpu_before)
            .enumerate()
            .map(|(index, (watch, before))| {
                let name = if index == 0 { "scim_sync".to_owned() } else { watch.to_string() };
                (name, watch.sample().seconds_since(before).map(|seconds| seconds / wall))
            })
            .collect();
        // Rules run inside the write's transaction, or (group changes) before its answer: the
        // counter is complete once the last answer is in.
        let after = self.client.evaluations().await.context("cannot read /metrics")?;
        let summary = PhaseSummary::new(name, &outcome, client::difference(&before, &after), cpu);
        Ok((outcome, summary))
    }
}
