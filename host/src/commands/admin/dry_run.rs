//! `muster dry-run`: the realm's decision for a stored or an ad-hoc user, with its trace, on
//! the active versions or a candidate; nothing changes.

use std::path::PathBuf;

use serde_json::Value;

use super::{
    EXIT_CODES,
    client::Failure,
    files,
    options::{Kind, RealmConnection},
    output,
};

/// Show the decision the realm's rules would make for a user, with the trace; changes nothing.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct DryRunArgs {
    /// A stored user of the realm, by Muster's user id (as of their last login or SCIM update).
    #[arg(long, value_name = "USER_ID", required_unless_present = "input", conflicts_with = "input")]
    user: Option<String>,
    /// A user who may never have logged in, from a JSON file (`-`: standard input):
    /// `{"user_name", "email", "attributes": {name: [values]}, "provider_groups": […], …}`, or
    /// such a user under `"user"`.
    #[arg(long, value_name = "USER.json")]
    input: Option<PathBuf>,
    /// Decide with this candidate version of the `--kind` rules instead of the active one.
    #[arg(long, requires = "kind")]
    version: Option<i64>,
    /// Which rules `--version` is a version of.
    #[arg(long, requires = "version")]
    kind: Option<Kind>,
    #[command(flatten)]
    realm: RealmConnection,
}

/// Runs `muster dry-run`.
pub fn run(args: DryRunArgs) -> Result<(), Failure> {
    let mut body = Kind::candidate(args.kind, args.version);
    let ad_hoc = match &args.input {
        Some(path) => Some(ad_hoc_user(files::read_json(path, "input")?)?),
        None => None,
    };
    let realm = args.realm.open()?;
    let answer = match (ad_hoc, &args.user) {
        (Some(user), _) => {
            body["user"] = user;
            realm.client().post(&realm.path(&["dry-run"]), &body)?
        }
        (None, Some(user)) => realm.client().post(&realm.path(&["users", user, "dry-run"]), &body)?,
        (None, None) => return Err(Failure::Usage("give --user <USER_ID> or --input <USER.json>".to_owned())),
    };
    realm.print(&answer, decision)
}

/// The user of an `--input` file: the object itself, or the object under `"user"` (the shape of
/// `muster eval`'s input).
fn ad_hoc_user(input: Value) -> Result<Value, Failure> {
    let user = match input {
        Value::Object(mut object) if !object.contains_key("user_name") && object.contains_key("user") => {
            object.remove("user").unwrap_or_default()
        }
        other => other,
    };
    if user.is_object() {
        Ok(user)
    } else {
        Err(Failure::Usage("--input must hold a JSON object: the user (with at least \"user_name\")".to_owned()))
    }
}

/// A dry run's answer: the organization and rule, groups, provider groups, modules, traces.
fn decision(answer: &Value) -> String {
    let user = &answer["evaluation"]["user"];
    let groups = &answer["evaluation"]["groups"];
    let mut out = format!(
        "organization: {}\ngroups: {}\nprovider groups: {}\nuser rules: {}\ngroup rules: {}\n",
        output::organization(&user["organization"], &user["rule"]),
        output::list(&user["groups"]),
        output::provider_groups(&answer["provider_groups"]),
        output::module(&user["module"], "none (the default organization decides)"),
        output::module(&groups["module"], "none"),
    );
    output::trace(&mut out, "trace (user rules)", &user["trace"]);
    output::trace(&mut out, "trace (group rules)", &groups["trace"]);
    out
}
