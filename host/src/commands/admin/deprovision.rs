//! `muster deprovision`: deactivate one user of a realm at once.

use serde_json::Value;

use super::{
    EXIT_CODES,
    client::{self, Failure},
    options::RealmConnection,
    output,
};

/// Deactivate a user at once: blocked, out of every group, every session revoked.
///
/// Memberships are suspended (restored on reactivation), each step audited.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct DeprovisionArgs {
    /// The user (Muster's user id).
    user: String,
    /// Why, for the audit log and the revoked sessions (default: "deactivated by an
    /// administrator").
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    realm: RealmConnection,
}

/// Runs `muster deprovision`.
pub fn run(args: DeprovisionArgs) -> Result<(), Failure> {
    let realm = args.realm.open()?;
    let body = client::fields([("reason", args.reason.clone().map(Value::from))]);
    let answer = realm.client().post(&realm.path(&["users", &args.user, "deactivate"]), &body)?;
    realm.print(&answer, |result| {
        if result["changed"].as_bool() != Some(true) {
            return format!("user {} was deactivated already: nothing changed", args.user);
        }
        let done = &result["deactivation"];
        format!(
            "deactivated {} ({}): {} session(s) revoked; was in {}, rule-based groups {}; suspended SCIM groups {}",
            output::text(&done["user"]["user_name"]),
            args.user,
            output::text(&done["revoked_sessions"]),
            output::organization(&done["previous_organization"], &Value::Null),
            output::list(&done["previous_rule_groups"]),
            output::list(&done["suspended_groups"]),
        )
    })
}
