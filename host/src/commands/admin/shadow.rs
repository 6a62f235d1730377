//! `muster shadow`: run a candidate version beside the active one on every live login, stop
//! it, or see how often it disagreed.

use serde_json::{Value, json};

use super::{
    EXIT_CODES,
    client::Failure,
    options::{Kind, RealmConnection},
    output,
};

/// Run a candidate version in shadow beside the active one, stop it, or show how it did.
///
/// `shadow --kind K VERSION` runs VERSION beside the active version on every live login
/// (recorded, never applied); `shadow --kind K --clear` stops it; `shadow` alone shows the
/// versions in shadow and how often they decided differently from the live ones.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ShadowArgs {
    /// Which rules (with a version or `--clear`).
    #[arg(long)]
    kind: Option<Kind>,
    /// The candidate version to run in shadow.
    #[arg(requires = "kind")]
    version: Option<i64>,
    /// Stop running a version of `--kind` in shadow.
    #[arg(long, requires = "kind", conflicts_with = "version")]
    clear: bool,
    #[command(flatten)]
    realm: RealmConnection,
}

/// Runs `muster shadow`.
pub fn run(args: ShadowArgs) -> Result<(), Failure> {
    let kind = args.kind;
    if kind.is_some() && args.version.is_none() && !args.clear {
        return Err(Failure::Usage("--kind needs the VERSION to run in shadow, or --clear".to_owned()));
    }
    let realm = args.realm.open()?;
    match (kind, args.version) {
        (Some(kind), Some(version)) => {
            let answer = realm.client().put(&realm.module_path(kind, &["shadow"]), &json!({"version": version}))?;
            realm.print(&answer, |realm| {
                format!("{} version {version} runs in shadow beside {}", kind.rules(), active(kind, realm))
            })
        }
        (Some(kind), None) => {
            let answer = realm.client().delete(&realm.module_path(kind, &["shadow"]))?;
            realm.print(&answer, |_| format!("no {} version runs in shadow", kind.rules()))
        }
        (None, _) => {
            let answer = realm.client().get(&realm.path(&["shadow"]))?;
            realm.print(&answer, summary)
        }
    }
}

/// `the active version 2`, or `no active version`.
fn active(kind: Kind, realm: &Value) -> String {
    let field = match kind {
        Kind::User => "user_rules_version",
        Kind::Group => "group_rules_version",
    };
    match realm[field].as_i64() {
        Some(version) => format!("the active version {version}"),
        None => "no active version (the default organization decides)".to_owned(),
    }
}

fn summary(answer: &Value) -> String {
    let in_shadow = |field: &str| match answer["shadow"][field].as_i64() {
        Some(version) => format!("version {version}"),
        None => "none".to_owned(),
    };
    let mut out =
        format!("in shadow: user rules {}, group rules {}", in_shadow("user_rules"), in_shadow("group_rules"));
    let results = answer["results"].as_array().map(Vec::as_slice).unwrap_or_default();
    if results.is_empty() {
        out.push_str("\nno shadow evaluations recorded");
        return out;
    }
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|result| {
            vec![
                output::text(&result["user_rules_version"]),
                output::text(&result["group_rules_version"]),
                output::text(&result["evaluated"]),
                output::text(&result["differing"]),
                output::time(&result["last_at"]),
            ]
        })
        .collect();
    let header = ["USER RULES", "GROUP RULES", "EVALUATED", "DIFFERING", "LAST"];
    out.push_str("\nshadow evaluations:\n");
    out.push_str(output::table(&header, &rows).trim_end());
    out
}
