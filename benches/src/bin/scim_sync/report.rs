//! The summary of a sync, as a table for people or one JSON object (`--json`).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{check::Check, phase::Outcome};

/// One phase's line.
#[derive(Serialize)]
pub struct PhaseSummary {
    /// `POST /Users`, `POST /Groups`, `PATCH /Groups members`, or `total`.
    pub phase: String,
    pub writes: u64,
    pub errors: u64,
    pub wall_s: f64,
    pub writes_per_s: f64,
    /// Rule evaluations the server counted during the phase (`muster_evaluations_total`).
    pub evaluations: u64,
    pub evaluations_per_s: f64,
    /// The same by `trigger/result`.
    pub evaluations_by_trigger: BTreeMap<String, u64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU cores used during the phase: the generator's, then each `--cpu-of`'s.
    pub cpu_cores: Vec<(String, Option<f64>)>,
}

impl PhaseSummary {
    pub fn new(
        phase: &str,
        outcome: &Outcome,
        evaluations: BTreeMap<String, u64>,
        cpu_cores: Vec<(String, Option<f64>)>,
    ) -> Self {
        Self::from_parts(
            phase,
            outcome.writes(),
            outcome.writes() - outcome.successes,
            outcome.wall.as_secs_f64(),
            evaluations,
            &outcome.latency,
            cpu_cores,
        )
    }

    pub fn from_parts(
        phase: &str,
        writes: u64,
        errors: u64,
        wall_s: f64,
        evaluations_by_trigger: BTreeMap<String, u64>,
        latency: &Histogram<u64>,
        cpu_cores: Vec<(String, Option<f64>)>,
    ) -> Self {
        let evaluations = evaluations_by_trigger.values().sum();
        let ms = |us: u64| us as f64 / 1000.0;
        PhaseSummary {
            phase: phase.to_owned(),
            writes,
            errors,
            wall_s,
            writes_per_s: writes as f64 / wall_s.max(1e-9),
            evaluations,
            evaluations_per_s: evaluations as f64 / wall_s.max(1e-9),
            evaluations_by_trigger,
            p50_ms: ms(latency.value_at_quantile(0.50)),
            p99_ms: ms(latency.value_at_quantile(0.99)),
            max_ms: ms(latency.max()),
            cpu_cores,
        }
    }
}

/// Everything a sync reports.
#[derive(Serialize)]
pub struct Summary {
    pub scim_url: String,
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
    pub batch: u64,
    pub department_groups: bool,
    pub connections: u32,
    pub phases: Vec<PhaseSummary>,
    pub check: Check,
}

impl Summary {
    pub fn print(&self, json: bool) {
        if json {
            println!("{}", serde_json::to_string(self).expect("the summary serializes"));
            return;
        }
        println!(
            "scim_sync: {} users, {} groups{}, {} memberships in PATCHes of ≤ {}, {} connections → {}",
            self.users,
            self.groups,
            if self.department_groups { " (4 department groups)" } else { "" },
            self.memberships,
            self.batch,
            self.connections,
            self.scim_url
        );
        println!(
            "{:<22} {:>7} {:>6} {:>8} {:>9} {:>10} {:>9} {:>8} {:>8} {:>8}  cpu (cores)",
            "phase", "writes", "errors", "wall s", "writes/s", "rule evals", "evals/s", "p50 ms", "p99 ms", "max ms"
        );
        for p in &self.phases {
            let cpu: Vec<String> = p
                .cpu_cores
                .iter()
                .map(|(name, cores)| match cores {
                    Some(cores) => format!("{name} {cores:.2}"),
                    None => format!("{name} -"),
                })
                .collect();
            println!(
                "{:<22} {:>7} {:>6} {:>8.2} {:>9.0} {:>10} {:>9.0} {:>8.2} {:>8.2} {:>8.1}  {}",
                p.phase,
                p.writes,
                p.errors,
                p.wall_s,
                p.writes_per_s,
                p.evaluations,
                p.evaluations_per_s,
                p.p50_ms,
                p.p99_ms,
                p.max_ms,
                cpu.join(", ")
            );
        }
        for p in &self.phases {
            let triggers: Vec<String> = p.evaluations_by_trigger.iter().map(|(k, v)| format!("{k} {v}")).collect();
            println!(
                "evaluations of {:<22} {}",
                p.phase,
                if triggers.is_empty() { "none".to_owned() } else { triggers.join(", ") }
            );
        }
        let c = &self.check;
        println!(
            "check: GET /Users totalResults {}, GET /Groups totalResults {}, {} sampled users' groups and organization: {}",
            c.users_total.map_or("?".into(), |t| t.to_string()),
            c.groups_total.map_or("?".into(), |t| t.to_string()),
            c.sampled,
            if c.passed() { "all as expected".to_owned() } else { format!("{} problems", c.problems.len()) }
        );
        for problem in c.problems.iter().take(10) {
            println!("  {problem}");
        }
    }
}
