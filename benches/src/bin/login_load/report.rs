//! The summary of a run, as text for people or one JSON object (`--json`).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{args::Args, churn::ChurnTally, load::Tally, shadow::ShadowTally};

/// Everything a run reports.
#[derive(Serialize)]
pub struct Summary {
    pub url: String,
    pub tenant: String,
    pub realm: String,
    /// `closed` or `open` (with `rate`).
    pub mode: &'static str,
    pub connections: u32,
    pub threads: u32,
    pub users: u64,
    /// Whether every user logged in once before the run (`--prime`).
    pub primed: bool,
    pub groups_per_user: usize,
    /// Open loop: requests per second asked for.
    pub rate: Option<f64>,
    pub warmup_s: f64,
    pub duration_s: f64,
    /// Requests tallied (after the warm-up): successes and errors.
    pub requests: u64,
    /// Answers with status 200.
    pub successes: u64,
    /// Successful logins the rules blocked (No organization).
    pub blocked: u64,
    /// Successful logins that created their user.
    pub created: u64,
    /// Errors by kind (`status 409`, `connect`, `request`, `response body`).
    pub errors: BTreeMap<String, u64>,
    /// Requests per second (all answers and failures).
    pub throughput_rps: f64,
    /// Successful logins per second.
    pub success_rps: f64,
    /// Latency of the answered requests; open loop: from the intended send time.
    pub latency_ms: Percentiles,
    /// Open loop only: send → answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_time_ms: Option<Percentiles>,
    /// With `--activate-every`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub churn: Option<ChurnSummary>,
    /// CPU used during the measured run: the generator's, then each `--cpu-of`'s.
    pub cpu: Vec<CpuUse>,
    /// With `--shadow`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowSummary>,
    /// With `--floor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor: Option<FloorSummary>,
}

/// The floor run (`--floor`): `POST /floor` with the same bodies and connections.
#[derive(Serialize)]
pub struct FloorSummary {
    /// Answers per second.
    pub throughput_rps: f64,
    /// Its latency.
    pub latency_ms: Percentiles,
    /// Successful logins per second ÷ floor answers per second.
    pub login_share: f64,
}

impl FloorSummary {
    /// Summarizes a floor run of `seconds` beside logins at `login_rps`.
    pub fn of(tally: &Tally, seconds: f64, login_rps: f64) -> Self {
        let throughput_rps = tally.successes as f64 / seconds;
        FloorSummary {
            throughput_rps,
            latency_ms: Percentiles::of(&tally.latency),
            login_share: login_rps / throughput_rps.max(1e-9),
        }
    }
}

/// CPU time some processes used during the measured run.
#[derive(Serialize)]
pub struct CpuUse {
    /// `login_load`, `pid N` or a command name.
    pub process: String,
    /// User + system seconds (`None`: no such process at the end of the run).
    pub seconds: Option<f64>,
    /// Seconds per second of the measured run: cores kept busy.
    pub cores: Option<f64>,
}

/// Latency percentiles in milliseconds.
#[derive(Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    fn of(micros: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            p50: ms(micros.value_at_quantile(0.50)),
            p90: ms(micros.value_at_quantile(0.90)),
            p99: ms(micros.value_at_quantile(0.99)),
            p99_9: ms(micros.value_at_quantile(0.999)),
            max: ms(micros.max()),
            mean: micros.mean() / 1000.0,
        }
    }

    fn line(&self) -> String {
        format!(
            "p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms  (mean {:.3} ms)",
            self.p50, self.p90, self.p99, self.p99_9, self.max, self.mean
        )
    }
}

/// What the activation churn did.
#[derive(Serialize)]
pub struct ChurnSummary {
    pub every_ms: f64,
    pub versions: [i64; 2],
    pub activations: u64,
    pub failures: u64,
    pub activation_latency_ms: Percentiles,
}

/// What shadow mode did during the measured run.
#[derive(Serialize)]
pub struct ShadowSummary {
    /// The active version, then the shadow.
    pub versions: [i64; 2],
    /// Shadow evaluations by result (`same`, `differs`, `failed`, `dropped`).
    pub results: BTreeMap<String, u64>,
    /// Shadow evaluations that ran (all but `dropped`) per second.
    pub evaluated_per_s: f64,
}

impl ShadowSummary {
    /// Summarizes the shadow evaluations of a measured run of `seconds`.
    pub fn of(tally: ShadowTally, seconds: f64) -> Self {
        let evaluated: u64 =
            tally.results.iter().filter(|(result, _)| *result != "dropped").map(|(_, count)| count).sum();
        ShadowSummary {
            versions: tally.versions,
            results: tally.results,
            evaluated_per_s: evaluated as f64 / seconds.max(1e-9),
        }
    }
}

impl Summary {
    /// Summarizes a run of `args` from its merged tally.
    pub fn new(args: &Args, tally: &Tally, churn: Option<&ChurnTally>, cpu: Vec<CpuUse>) -> Self {
        let seconds = args.duration.as_secs_f64();
        Summary {
            url: args.url.clone(),
            tenant: args.tenant.clone(),
            realm: args.realm.clone(),
            mode: if args.rate.is_some() { "open" } else { "closed" },
            connections: args.connections,
            threads: args.threads,
            users: args.users,
            primed: args.prime,
            groups_per_user: args.groups,
            rate: args.rate,
            warmup_s: args.warmup.as_secs_f64(),
            duration_s: seconds,
            requests: tally.requests(),
            successes: tally.successes,
            blocked: tally.blocked,
            created: tally.created,
            errors: tally.errors.clone(),
            throughput_rps: tally.requests() as f64 / seconds,
            success_rps: tally.successes as f64 / seconds,
            latency_ms: Percentiles::of(&tally.latency),
            service_time_ms: args.rate.map(|_| Percentiles::of(&tally.service_time)),
            churn: churn.map(|churn| ChurnSummary {
                every_ms: churn.every.as_secs_f64() * 1000.0,
                versions: churn.versions,
                activations: churn.activations,
                failures: churn.failures,
                activation_latency_ms: Percentiles::of(&churn.latency),
            }),
            cpu,
            shadow: None,
            floor: None,
        }
    }

    /// Prints the summary on stdout.
    pub fn print(&self, json: bool) {
        if json {
            println!("{}", serde_json::to_string(self).expect("the summary serializes"));
            return;
        }
        let rate = self.rate.map(|rate| format!(" at {rate} req/s")).unwrap_or_default();
        let primed = if self.primed { " (primed)" } else { "" };
        println!(
            "login_load: {} loop{rate}, {} connections, {} thread(s), {} users{primed}, {:.1} s after {:.1} s warm-up, {}/v1/tenants/{}/realms/{}/login",
            self.mode,
            self.connections,
            self.threads,
            self.users,
            self.duration_s,
            self.warmup_s,
            self.url,
            self.tenant,
            self.realm
        );
        println!(
            "requests      {} (successes {}: {} blocked, {} created the user)",
            self.requests, self.successes, self.blocked, self.created
        );
        let errors: Vec<String> = self.errors.iter().map(|(kind, count)| format!("{kind}: {count}")).collect();
        println!("errors        {}", if errors.is_empty() { "none".to_owned() } else { errors.join(", ") });
        println!("throughput    {:.0} req/s ({:.0} successful logins/s)", self.throughput_rps, self.success_rps);
        println!("latency       {}", self.latency_ms.line());
        if let Some(service) = &self.service_time_ms {
            println!("service time  {}", service.line());
        }
        if let Some(churn) = &self.churn {
            println!(
                "churn         every {:.0} ms, versions {} ⇄ {}: {} activations, {} failed; activation {}",
                churn.every_ms,
                churn.versions[0],
                churn.versions[1],
                churn.activations,
                churn.failures,
                churn.activation_latency_ms.line()
            );
        }
        if let Some(shadow) = &self.shadow {
            let results: Vec<String> =
                shadow.results.iter().map(|(result, count)| format!("{result} {count}")).collect();
            println!(
                "shadow        version {} beside {}: {:.0} shadow evaluations/s ({})",
                shadow.versions[1],
                shadow.versions[0],
                shadow.evaluated_per_s,
                if results.is_empty() { "none counted".to_owned() } else { results.join(", ") }
            );
        }
        if let Some(floor) = &self.floor {
            println!(
                "floor         {:.0} req/s on POST /floor, same bodies and connections: logins at {:.1}% of it; latency {}",
                floor.throughput_rps,
                floor.login_share * 100.0,
                floor.latency_ms.line()
            );
        }
        let cpu: Vec<String> = self
            .cpu
            .iter()
            .map(|used| match used.cores {
                Some(cores) => format!("{} {cores:.2} cores", used.process),
                None => format!("{} (gone)", used.process),
            })
            .collect();
        println!("cpu           {} (during the measured run)", cpu.join(", "));
    }
}
