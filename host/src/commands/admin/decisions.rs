//! `muster decisions`, `muster decisions show` and `muster replay`: the tenant's decision
//! records, and a recorded input re-run.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{
    EXIT_CODES,
    client::{self, Failure},
    options::{Connection, Kind, RealmConnection, parse_time},
    output,
};

/// List recent decision records, newest first, or show one (`decisions show <ID>`).
///
/// With `--realm` (or MUSTER_REALM), that realm's only; otherwise the whole tenant's.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, after_help = EXIT_CODES)]
pub struct DecisionsArgs {
    #[command(subcommand)]
    show: Option<Show>,
    /// Only decisions about this user (Muster's user id).
    #[arg(long, value_name = "USER_ID")]
    user: Option<String>,
    /// Only decisions of this trigger: login, scim_create, scim_update, scim_group_change,
    /// scim_reactivate, dry_run.
    #[arg(long)]
    trigger: Option<String>,
    /// Only shadow evaluations (`true`), or none (`false`).
    #[arg(long, value_name = "BOOL")]
    shadow: Option<bool>,
    /// Only applied decisions (`true`), or only those not applied (`false`).
    #[arg(long, value_name = "BOOL")]
    applied: Option<bool>,
    /// Only shadow evaluations that differed from the live decision (`true`), or agreed (`false`).
    #[arg(long, value_name = "BOOL")]
    differs: Option<bool>,
    /// Only decisions whose rules failed (`true`: trap, fuel, timeout, …; recorded with their
    /// failure, never applied), or only those the rules made (`false`).
    #[arg(long, value_name = "BOOL")]
    failed: Option<bool>,
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

#[derive(clap::Subcommand)]
enum Show {
    /// Show one decision record: what the rules saw and decided, which versions ran, the trace.
    #[command(after_help = EXIT_CODES)]
    Show(ShowArgs),
}

/// `muster decisions show`'s arguments.
#[derive(clap::Args)]
struct ShowArgs {
    /// The decision's id.
    decision: String,
    #[command(flatten)]
    connection: Connection,
}

/// Runs `muster decisions` (or `muster decisions show`).
pub fn run(args: DecisionsArgs) -> Result<(), Failure> {
    if let Some(Show::Show(show)) = args.show {
        let tenant = show.connection.open()?;
        let answer = tenant.client.get(&tenant.path(&["decisions", &show.decision]))?;
        return tenant.print(&answer, record);
    }
    let (tenant, realm) = args.realm.open_tenant()?;
    let filters = [
        ("realm", realm),
        ("user", args.user),
        ("trigger", args.trigger),
        ("shadow", args.shadow.map(|value| value.to_string())),
        ("applied", args.applied.map(|value| value.to_string())),
        ("differs", args.differs.map(|value| value.to_string())),
        ("failed", args.failed.map(|value| value.to_string())),
        ("since", args.since.map(|value| value.to_string())),
        ("until", args.until.map(|value| value.to_string())),
        ("before", args.before),
        ("limit", args.limit.map(|value| value.to_string())),
    ];
    let again = output::repeated_flags(&filters);
    let answer = tenant.client.get(&client::with_query(tenant.path(&["decisions"]), filters))?;
    tenant.print(&answer, |answer| list(answer, &again))
}

/// The decisions of a page, one line each; the next page's hint repeats `filters` (flags).
fn list(answer: &Value, filters: &str) -> String {
    let decisions = answer["decisions"].as_array().map(Vec::as_slice).unwrap_or_default();
    if decisions.is_empty() {
        return "no decisions".to_owned();
    }
    let rows: Vec<Vec<String>> = decisions
        .iter()
        .map(|decision| {
            let input = output::document(&decision["input"]);
            let user_output = &output::document(&decision["output"])["user"];
            let outcome = match failure(decision) {
                Some(error) => format!("failed: {error}"),
                None => output::organization(&user_output["organization"], &user_output["rule"]),
            };
            vec![
                output::text(&decision["id"]),
                output::time(&decision["created_at"]),
                output::text(&decision["realm_id"]),
                output::text(&decision["trigger"]),
                output::text(&input["user"]["user_name"]),
                outcome,
                flags(decision).join(", "),
            ]
        })
        .collect();
    let header = ["ID", "TIME", "REALM", "TRIGGER", "USER", "DECISION", "FLAGS"];
    let mut out = output::table(&header, &rows);
    output::next_page(&mut out, &answer["next_before"], "decisions", |next| {
        format!("muster decisions{filters} --before {next}")
    });
    out
}

/// Why a recorded evaluation failed, if the record says it did (its `failure`):
/// `<kind>: <message>`.
fn failure(decision: &Value) -> Option<String> {
    let failure = decision.get("failure").filter(|failure| !failure.is_null())?;
    Some(format!("{}: {}", output::text(&failure["kind"]), output::text(&failure["message"])))
}

/// `shadow`, `differs`, `not applied`: what a record is besides a live, applied decision.
fn flags(decision: &Value) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if decision["shadow"].as_bool() == Some(true) {
        flags.push("shadow");
    }
    if decision["differs"].as_bool() == Some(true) {
        flags.push("differs");
    }
    if decision["applied"].as_bool() == Some(false) && decision["shadow"].as_bool() != Some(true) {
        flags.push("not applied");
    }
    flags
}

/// One decision record in full.
fn record(decision: &Value) -> String {
    let input = output::document(&decision["input"]);
    let decided = output::document(&decision["output"]);
    let trace = output::document(&decision["trace"]);
    let version = |version: &str, digest: &str| {
        output::module(&json!({"version": decision[version], "digest": decision[digest]}), "none")
    };
    let mut out = format!("decision {}\n", output::text(&decision["id"]));
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "  {label:<16} {value}");
    };
    line("time:", output::time(&decision["created_at"]));
    line("realm:", output::text(&decision["realm_id"]));
    line("user:", format!("{} ({})", output::text(&input["user"]["user_name"]), output::text(&decision["user_id"])));
    let mut trigger = output::text(&decision["trigger"]);
    let flags = flags(decision);
    if !flags.is_empty() {
        trigger = format!("{trigger} ({})", flags.join(", "));
    }
    if let Some(live) = decision["shadow_of"].as_str() {
        trigger = format!("{trigger}, beside decision {live}");
    }
    line("trigger:", trigger);
    line("user rules:", version("user_rules_version", "user_rules_digest"));
    line("group rules:", version("group_rules_version", "group_rules_digest"));
    match failure(decision) {
        Some(error) => line("failed:", error),
        None => {
            line("organization:", output::organization(&decided["user"]["organization"], &decided["user"]["rule"]));
            line("groups:", output::list(&decided["user"]["groups"]));
            line("provider groups:", output::provider_groups(&decided["groups"]));
        }
    }
    line("cost:", format!("{} µs, {} fuel", output::text(&decision["duration_us"]), output::text(&decision["fuel"])));
    output::trace(&mut out, "trace (user rules)", &trace["user"]);
    output::trace(&mut out, "trace (group rules)", &trace["groups"]);
    out
}

/// Re-run a recorded decision's input, on its own versions or a candidate.
///
/// On the versions that made it, the output and trace must be identical; with a candidate
/// version of the `--kind` rules, it shows what differs.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ReplayArgs {
    /// The decision's id.
    decision: String,
    /// Replay with this candidate version of the `--kind` rules instead of the recorded one.
    #[arg(long, requires = "kind")]
    version: Option<i64>,
    /// Which rules `--version` is a version of.
    #[arg(long, requires = "version")]
    kind: Option<Kind>,
    #[command(flatten)]
    connection: Connection,
}

/// Runs `muster replay`.
pub fn replay(args: ReplayArgs) -> Result<(), Failure> {
    let tenant = args.connection.open()?;
    let body = Kind::candidate(args.kind, args.version);
    let answer = tenant.client.post(&tenant.path(&["decisions", &args.decision, "replay"]), &body)?;
    tenant.print(&answer, replayed)
}

fn replayed(replay: &Value) -> String {
    let versions = |versions: &Value| {
        format!(
            "user rules {}, group rules {}",
            output::text(&versions["user_rules"]),
            output::text(&versions["group_rules"])
        )
    };
    let verdict = if replay["identical"].as_bool() == Some(true) {
        "identical: the same output and trace as recorded"
    } else if replay["output_identical"].as_bool() == Some(true) {
        "the same output as recorded, another trace"
    } else {
        "a different output from the recorded one"
    };
    let mut out = format!(
        "replayed decision {} on {}: {verdict}\n",
        output::text(&replay["decision_id"]),
        versions(&replay["versions"])
    );
    for (label, side) in [("recorded", &replay["recorded"]), ("replayed", &replay["replayed"])] {
        let decided = output::document(&side["output"]);
        if decided.is_null() {
            let _ = writeln!(out, "  {label}: no output: the rules failed");
            continue;
        }
        let _ = writeln!(
            out,
            "  {label}: {}; groups {}; provider groups {}",
            output::organization(&decided["user"]["organization"], &decided["user"]["rule"]),
            output::list(&decided["user"]["groups"]),
            output::provider_groups(&decided["groups"]),
        );
    }
    difference(&mut out, &replay["difference"]);
    if replay["identical"].as_bool() != Some(true) {
        let trace = output::document(&replay["replayed"]["trace"]);
        output::trace(&mut out, "replayed trace (user rules)", &trace["user"]);
        output::trace(&mut out, "replayed trace (group rules)", &trace["groups"]);
    }
    out
}

/// The replay's structured difference, one changed part a line under `what changed:`.
fn difference(out: &mut String, difference: &Value) {
    let changed: Vec<&str> = difference["changed"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if changed.is_empty() {
        return;
    }
    let _ = writeln!(out, "what changed ({}):", changed.join(", "));
    let name = |value: &Value| value.as_str().map_or_else(|| "none".to_owned(), str::to_owned);
    for part in changed {
        let _ = match part {
            "failure" => writeln!(out, "  the recorded rules failed; the replay decided"),
            "organization" => writeln!(
                out,
                "  organization: {} → {}",
                output::organization(&difference["organization"]["recorded"], &Value::Null),
                output::organization(&difference["organization"]["replayed"], &Value::Null)
            ),
            "rule" => writeln!(
                out,
                "  rule: {} → {}",
                name(&difference["rule"]["recorded"]),
                name(&difference["rule"]["replayed"])
            ),
            "groups" => writeln!(
                out,
                "  groups: added {}; removed {}",
                output::list(&difference["groups_added"]),
                output::list(&difference["groups_removed"])
            ),
            "provider_groups" => {
                for group in difference["provider_groups"].as_array().into_iter().flatten() {
                    let marks =
                        |marks: &Value| if marks.is_null() { "unmarked".to_owned() } else { output::list(marks) };
                    let _ = writeln!(
                        out,
                        "  provider group {}: {} → {}",
                        output::text(&group["name"]),
                        marks(&group["recorded"]),
                        marks(&group["replayed"])
                    );
                }
                Ok(())
            }
            "user_trace" | "group_trace" => {
                let trace = &difference[part];
                let step = |step: &Value| match step["check"].as_str() {
                    Some(check) => format!("{check} ({})", output::text(&step["outcome"])),
                    None => "none".to_owned(),
                };
                writeln!(
                    out,
                    "  {} trace: {} steps → {}; first difference at step {}: {} → {}",
                    if part == "user_trace" { "user rules'" } else { "group rules'" },
                    output::text(&trace["recorded_steps"]),
                    output::text(&trace["replayed_steps"]),
                    trace["first_difference"].as_u64().map_or(0, |index| index + 1),
                    step(&trace["recorded"]),
                    step(&trace["replayed"])
                )
            }
            other => writeln!(out, "  {other}"),
        };
    }
}
