//! `muster eval`: one evaluation, printed as JSON.

use std::{io::Read as _, path::PathBuf, process::ExitCode};

use anyhow::{Context as _, bail};
use muster_engine::{Engine, Evaluation, RuleModule};
use muster_wire::{Context, GroupDecision, User, UserDecision, trace::TraceStep};
use serde::{Deserialize, Serialize};

use super::script::{Script, js_rules_module};

/// Evaluate one input with a rule module and print the decision with its trace as JSON.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// The compiled rule module (.wasm). With --script: the js-rules module, by default the
    /// one `scripts/build-policies js-rules` built in this checkout.
    #[arg(long, value_name = "M.wasm", required_unless_present = "script")]
    module: Option<PathBuf>,
    /// The module's settings document (JSON). Default: `{}`. With --script: the JSON the script
    /// sees as `context.config` (default `null`).
    #[arg(long, value_name = "S.json")]
    settings: Option<PathBuf>,
    /// JavaScript rules (docs/javascript.md), run by the stock js-rules module: the user with
    /// the script's `decideUser`, provider groups with its `decideGroup`, each when it has one.
    #[arg(long, value_name = "RULES.js")]
    script: Option<PathBuf>,
    /// The input: `{"user": {...}, "groups": [...], "context": {"realm": ..., "trigger": ...}}`;
    /// `user` and `groups` are each optional, `groups` defaults to the user's provider groups.
    /// `-` reads it from standard input (a decision record's `input` is such a document).
    #[arg(long, value_name = "U.json")]
    input: PathBuf,
}

/// What `--input` holds.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    #[serde(default)]
    context: Context,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    groups: Option<Vec<String>>,
}

/// What `muster eval` prints.
#[derive(Serialize)]
struct Output {
    module: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Traced<UserOutput>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<Traced<GroupDecision>>,
}

#[derive(Serialize)]
struct UserOutput {
    #[serde(flatten)]
    decision: UserDecision,
    /// `true` when the decision is *No organization*: the login is blocked.
    blocked: bool,
}

#[derive(Serialize)]
struct Traced<T> {
    #[serde(flatten)]
    decision: T,
    trace: Vec<TraceStep>,
    duration_us: f64,
    fuel: u64,
}

impl<T> Traced<T> {
    fn from<U>(evaluation: Evaluation<U>, decision: impl FnOnce(U) -> T) -> Self {
        Self {
            decision: decision(evaluation.output),
            trace: evaluation.trace,
            duration_us: (evaluation.duration.as_nanos() as f64 / 100.0).round() / 10.0,
            fuel: evaluation.fuel_consumed,
        }
    }
}

/// Runs `muster eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let (input_text, input_name) = if args.input.as_os_str() == "-" {
        let mut text = Vec::new();
        std::io::stdin().read_to_end(&mut text).context("cannot read the input from standard input")?;
        (text, "from standard input".to_owned())
    } else {
        let text = std::fs::read(&args.input).with_context(|| format!("cannot read input {}", args.input.display()))?;
        (text, args.input.display().to_string())
    };
    let input: Input =
        serde_json::from_slice(&input_text).with_context(|| format!("input {input_name} is not valid"))?;
    let settings = match &args.settings {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read settings {}", path.display()))?),
        None => None,
    };
    let (module, settings) = match &args.script {
        Some(script) => {
            let settings = Script::read(script)?.settings(settings.as_deref())?;
            (js_rules_module(args.module.as_deref())?, settings)
        }
        None => (args.module.context("--module is required")?, settings.unwrap_or_else(|| b"{}".to_vec())),
    };
    let (engine, module) = super::load_module(&module)?;
    let output = evaluate(&engine, &module, &settings, input)?;
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(ExitCode::SUCCESS)
}

/// Evaluates the user with the module's user rules and the groups (given, or else the user's
/// provider groups) with its group rules, whichever the module has and its settings leave
/// something to run (a script need not define both), on the module's settings snapshot, as the
/// service does.
fn evaluate(engine: &Engine, module: &RuleModule, settings: &[u8], input: Input) -> anyhow::Result<Output> {
    let entries = module.entries();
    let prepared = module.prepare_settings(settings)?;
    let missing = module.missing_entries(&prepared)?;
    let (user_rules, group_rules) =
        (entries.user_rules && missing.user_rules.is_none(), entries.group_rules && missing.group_rules.is_none());
    let module = &engine.snapshot_settings(module, &prepared)?;
    let user = match &input.user {
        Some(user) if user_rules => {
            let evaluation = module.evaluate_user(&prepared, &input.context, user)?;
            Some(Traced::from(evaluation, |decision| UserOutput { blocked: decision.organization.is_none(), decision }))
        }
        _ => None,
    };
    let groups = match input.groups.or_else(|| input.user.map(|u| u.provider_groups)) {
        Some(groups) if group_rules => {
            Some(Traced::from(module.evaluate_groups(&prepared, &input.context, &groups)?, |d| d))
        }
        _ => None,
    };
    if user.is_none() && groups.is_none() {
        bail!(
            "nothing to evaluate: the module has {} and the input needs a `user` (for user rules) \
             or `groups` (for group rules)",
            match (user_rules, group_rules) {
                (true, true) => "user and group rules",
                (true, false) => "only user rules",
                _ => "only group rules",
            }
        );
    }
    Ok(Output { module: module.digest().to_owned(), user, groups })
}
