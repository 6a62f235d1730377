//! Command-line arguments of `login_load`.

use std::{path::PathBuf, time::Duration};

use crate::cpu::Watch;

/// Load generator for Muster's login endpoint (`POST /v1/tenants/{t}/realms/{r}/login`).
///
/// Each of `--connections` keep-alive HTTP/1.1 connections runs a closed loop (send a login,
/// wait for the answer, send the next) or, with `--rate`, takes its turn in one constant-rate
/// schedule shared by all connections, latency then counted from the intended send time.
/// Requests are logins of `--users` distinct, deterministic users taken round-robin. Only
/// requests sent after `--warmup` are counted; any answer but 200 is an error.
#[derive(clap::Parser, Debug)]
#[command(name = "login_load", version)]
pub struct Args {
    /// Base URL of the server (plain HTTP).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Tenant id.
    #[arg(long, default_value = "demo")]
    pub tenant: String,
    /// Realm id.
    #[arg(long, default_value = "entra")]
    pub realm: String,
    /// File holding the tenant's evaluation key (`muster serve --demo` writes
    /// `<data-dir>/demo-eval-token`).
    #[arg(long)]
    pub token_file: PathBuf,
    /// Concurrent keep-alive connections: each a closed loop, or with `--rate` the most requests
    /// in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// How long to measure, after the warm-up (`10s`, `500ms`, `2m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// How long to send before measuring (nothing sent then is counted).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Distinct users logging in (their bodies are built up front: about 1.3 KB each).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub users: u64,
    /// Before the warm-up, log every user in once (closed loop), so the run measures returning
    /// users rather than first logins.
    #[arg(long)]
    pub prime: bool,
    /// Provider groups per user (besides `all-staff` and a department group, which the demo
    /// rules use).
    #[arg(long, default_value_t = 8)]
    pub groups: usize,
    /// Open loop: send this many requests per second in total, on a fixed schedule; latency is
    /// measured from each request's intended send time (no coordinated omission).
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Threads of the generator's runtime.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    /// Also report the CPU that these processes use during the measured run: a PID (the
    /// server's) or a command name (`postgres`: all its processes); repeatable.
    #[arg(long, value_name = "PID|NAME")]
    pub cpu_of: Vec<Watch>,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// How many error answers (their bodies) or failures to print, on stderr.
    #[arg(long, default_value_t = 5)]
    pub show_errors: usize,
    /// File holding an admin key of the tenant (for `--activate-every` and `--shadow`).
    #[arg(long)]
    pub admin_token_file: Option<PathBuf>,
    /// Activation churn: during the measured run, activate the realm's two user-rules versions
    /// alternately at this interval (uploads a second version first if there is only one).
    #[arg(long, value_parser = parse_duration, requires = "admin_token_file")]
    pub activate_every: Option<Duration>,
    /// The floor: before the logins, drive `POST /floor` (the server must run with
    /// `--benchmark-floor=true`: a body read and parsed, no key, no store, no rules) with the same
    /// bodies, connections, warm-up and duration, and report the logins' throughput as a share of
    /// it. Both runs are of the same process on the same machine, so the share is the figure to
    /// compare across machines and runs.
    #[arg(long)]
    pub floor: bool,
    /// Shadow mode: before the run, make a second user-rules version (uploaded first if there is
    /// only one) the realm's shadow, so every login also runs it after its answer; ended after
    /// the run. Reports the shadow evaluations of the measured run.
    #[arg(long, requires = "admin_token_file", conflicts_with = "activate_every")]
    pub shadow: bool,
    /// The user-rules module to upload as the second version, when the realm has only one.
    #[arg(long, default_value = "target/wasm/wasm32-unknown-unknown/wasm-release/user_rules.wasm")]
    pub user_rules_wasm: PathBuf,
}

/// Parses `250ms`, `10s`, `2m`, or a bare number of seconds (`1.5`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("not a duration: {text:?} (try 10s, 500ms, 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit {unit:?} in {text:?}: use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("bad duration {text:?}: {e}"))
}

/// Parses a positive, finite number of requests per second.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("not a positive rate: {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("2500"), Ok(2500.0));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("-1").is_err());
        assert!(parse_rate("inf").is_err());
    }
}
