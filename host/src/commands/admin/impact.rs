//! `muster impact` and `muster backtest`: a candidate version over the realm's stored users, or
//! over its past decisions, page by page; nothing changes.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::{
    EXIT_CODES,
    client::Failure,
    options::{Kind, RealmConnection, parse_time},
    output,
};

/// How many changes the summary lists (`--json` has them all).
const SHOWN: usize = 10;

/// Preview which stored users a candidate version would change; changes nothing.
///
/// Evaluates the candidate beside the active version on a page of the realm's stored users
/// and lists whose organization, rule-based groups or provider-group organizations would change.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ImpactArgs {
    /// Which rules.
    #[arg(long)]
    kind: Kind,
    /// The candidate version.
    version: i64,
    /// Continue after this user id (the previous page's `next_after`).
    #[arg(long, value_name = "USER_ID")]
    after: Option<String>,
    /// Users per page, 1–1000 (the server's default: 100).
    #[arg(long)]
    limit: Option<i64>,
    #[command(flatten)]
    realm: RealmConnection,
}

/// Runs `muster impact`.
pub fn impact(args: ImpactArgs) -> Result<(), Failure> {
    let realm = args.realm.open()?;
    let mut body = Map::new();
    if let Some(after) = &args.after {
        body.insert("after".to_owned(), json!(after));
    }
    if let Some(limit) = args.limit {
        body.insert("limit".to_owned(), json!(limit));
    }
    let version = args.version.to_string();
    let path = realm.module_path(args.kind, &["versions", &version, "impact"]);
    let answer = realm.client().post(&path, &Value::Object(body))?;
    realm.print(&answer, |impact| {
        let changes = impact["changes"].as_array().map(Vec::as_slice).unwrap_or_default();
        let mut out = format!(
            "{} version {} against the active version: {} of {} users would change\n",
            args.kind.rules(),
            args.version,
            output::text(&impact["changed"]),
            output::text(&impact["evaluated"]),
        );
        for change in changes.iter().take(SHOWN) {
            let _ = writeln!(
                out,
                "  {} ({}): {}",
                output::text(&change["user_name"]),
                output::text(&change["user_id"]),
                output::effect_change(&change["active"], &change["candidate"])
            );
        }
        more(&mut out, changes.len());
        if let Some(next) = impact["next_after"].as_str() {
            let _ = writeln!(
                out,
                "more users: muster impact --kind {} {} --after {next}",
                args.kind.as_str(),
                args.version
            );
        }
        out
    })
}

/// Re-run past decisions with a candidate version; changes nothing.
///
/// Re-runs the realm's applied decisions of a time window (newest first) with the candidate in
/// place of the recorded version, and lists those that would have ended differently and those
/// the candidate fails on.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct BacktestArgs {
    /// Which rules.
    #[arg(long)]
    kind: Kind,
    /// The candidate version.
    version: i64,
    /// Only decisions made at or after this time (Unix milliseconds, or RFC 3339 in UTC:
    /// `2025-01-01T10:00:00Z`).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    since: Option<i64>,
    /// Only decisions made before this time (as `--since`).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    until: Option<i64>,
    /// Continue with the decisions older than this one (the previous page's `next_before`).
    #[arg(long, value_name = "DECISION_ID")]
    before: Option<String>,
    /// Decisions per page, 1–1000 (the server's default: 100).
    #[arg(long)]
    limit: Option<i64>,
    #[command(flatten)]
    realm: RealmConnection,
}

/// Runs `muster backtest`.
pub fn backtest(args: BacktestArgs) -> Result<(), Failure> {
    let realm = args.realm.open()?;
    let mut body = Map::new();
    for (field, value) in [("since", args.since.map(Value::from)), ("until", args.until.map(Value::from))]
        .into_iter()
        .chain([("before", args.before.clone().map(Value::from)), ("limit", args.limit.map(Value::from))])
    {
        if let Some(value) = value {
            body.insert(field.to_owned(), value);
        }
    }
    let version = args.version.to_string();
    let path = realm.module_path(args.kind, &["versions", &version, "backtest"]);
    let answer = realm.client().post(&path, &Value::Object(body))?;
    realm.print(&answer, |backtest| {
        let changes = backtest["changes"].as_array().map(Vec::as_slice).unwrap_or_default();
        let failures = backtest["failures"].as_array().map(Vec::as_slice).unwrap_or_default();
        let mut out = format!(
            "{} version {} over {} recorded decisions: {} would have ended differently, {} failed\n",
            args.kind.rules(),
            args.version,
            output::text(&backtest["examined"]),
            output::text(&backtest["changed"]),
            output::text(&backtest["failed"]),
        );
        for change in changes.iter().take(SHOWN) {
            let _ = writeln!(
                out,
                "  {} {} user {}: {}",
                output::text(&change["decision_id"]),
                output::time(&change["created_at"]),
                output::text(&change["user_id"]),
                output::effect_change(&change["recorded"], &change["candidate"])
            );
        }
        more(&mut out, changes.len());
        for failure in failures.iter().take(SHOWN) {
            let _ = writeln!(
                out,
                "  failed on {}: {}",
                output::text(&failure["decision_id"]),
                output::text(&failure["error"])
            );
        }
        more(&mut out, failures.len());
        if let Some(next) = backtest["next_before"].as_str() {
            let _ = writeln!(
                out,
                "more decisions: muster backtest --kind {} {} --before {next}",
                args.kind.as_str(),
                args.version
            );
        }
        out
    })
}

/// `  … and 5 more (--json lists them all)` when a list was cut at [`SHOWN`].
fn more(out: &mut String, listed: usize) {
    if listed > SHOWN {
        let _ = writeln!(out, "  … and {} more (--json lists them all)", listed - SHOWN);
    }
}
