//! `muster impact` and `muster backtest`: a candidate version over the realm's stored users, or
//! over its past decisions, page by page; nothing changes.

use serde_json::Value;

use super::{
    EXIT_CODES,
    client::{self, Failure},
    options::{Kind, RealmConnection, parse_time},
    output,
};

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
    let body = client::fields([("after", args.after.clone().map(Value::from)), ("limit", args.limit.map(Value::from))]);
    let version = args.version.to_string();
    let answer = realm.client().post(&realm.module_path(args.kind, &["versions", &version, "impact"]), &body)?;
    realm.print(&answer, |impact| {
        let mut out = format!(
            "{} version {} against the active version: {} of {} users would change\n",
            args.kind.rules(),
            args.version,
            output::text(&impact["changed"]),
            output::text(&impact["evaluated"]),
        );
        output::listed(&mut out, &impact["changes"], |change| {
            format!(
                "{} ({}): {}",
                output::text(&change["user_name"]),
                output::text(&change["user_id"]),
                output::effect_change(&change["active"], &change["candidate"])
            )
        });
        output::listed(&mut out, &impact["failures"], |failure| {
            format!(
                "{} rules failed on {} ({}): {}",
                output::text(&failure["failed"]),
                output::text(&failure["user_name"]),
                output::text(&failure["user_id"]),
                output::text(&failure["error"])
            )
        });
        output::next_page(&mut out, &impact["next_after"], "users", |next| {
            format!("muster impact --kind {} {} --after {next}", args.kind.as_str(), args.version)
        });
        out
    })
}

/// Re-run past decisions with a candidate version; changes nothing.
///
/// Re-runs the realm's live decisions of a time window (newest first; applied ones and those
/// whose rules failed) with the candidate in place of the recorded version, and lists those that
/// would have ended differently and those the candidate fails on.
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
    let body = client::fields([
        ("since", args.since.map(Value::from)),
        ("until", args.until.map(Value::from)),
        ("before", args.before.clone().map(Value::from)),
        ("limit", args.limit.map(Value::from)),
    ]);
    let version = args.version.to_string();
    let answer = realm.client().post(&realm.module_path(args.kind, &["versions", &version, "backtest"]), &body)?;
    realm.print(&answer, |backtest| {
        let mut out = format!(
            "{} version {} over {} recorded decisions: {} would have ended differently, {} failed\n",
            args.kind.rules(),
            args.version,
            output::text(&backtest["examined"]),
            output::text(&backtest["changed"]),
            output::text(&backtest["failed"]),
        );
        output::listed(&mut out, &backtest["changes"], |change| {
            let what = if change["recorded"].is_null() {
                format!(
                    "failed ({}) → {}",
                    output::text(&change["recorded_failure"]["kind"]),
                    output::organization(&change["candidate"]["organization"], &Value::Null)
                )
            } else {
                output::effect_change(&change["recorded"], &change["candidate"])
            };
            format!(
                "{} {} user {}: {what}",
                output::text(&change["decision_id"]),
                output::time(&change["created_at"]),
                output::text(&change["user_id"]),
            )
        });
        output::listed(&mut out, &backtest["failures"], |failure| {
            format!("failed on {}: {}", output::text(&failure["decision_id"]), output::text(&failure["error"]))
        });
        let filters = output::repeated_flags(&[
            ("since", args.since.map(|since| since.to_string())),
            ("until", args.until.map(|until| until.to_string())),
            ("limit", args.limit.map(|limit| limit.to_string())),
        ]);
        output::next_page(&mut out, &backtest["next_before"], "decisions", |next| {
            format!("muster backtest --kind {} {}{filters} --before {next}", args.kind.as_str(), args.version)
        });
        out
    })
}
