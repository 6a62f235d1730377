//! Stock policy **js-rules**: user and group rules written in JavaScript, run by QuickJS inside
//! the module's own sandbox.
//!
//! Settings: `{"script": "<an ES module>", "config": <any JSON, optional>}`. The script exports
//! `decideUser(user, context)` and/or `decideGroup(group, context)`; `context.config` is the
//! settings' `config`. The whole author's API (helpers, decision shapes, errors, determinism,
//! limits) is in `docs/javascript.md`, and its TypeScript declarations in `muster.d.ts`.
//!
//! The script is parsed and its top level run when the settings are validated (a syntax error
//! is refused with its line, column and the offending line), and again once when the host loads
//! the version's settings: the host snapshots that instance, so each evaluation starts with the
//! script already evaluated and only calls its entry.

mod convert;
mod error;
mod helpers;
mod limits;
mod script;

use muster_guest::MissingEntries;
use muster_guest::prelude::*;
use muster_guest::schema::JsonSchema;
use muster_guest::settings::error_at;
use serde::{Deserialize, Serialize};

pub use error::ScriptError;
use script::Script;

/// The settings document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The rules: a JavaScript ES module exporting `decideUser(user, context)` and/or
    /// `decideGroup(group, context)` (see docs/javascript.md).
    pub script: String,
    /// Any JSON the script reads as `context.config` (frozen); absent: `null`.
    #[serde(default)]
    pub config: Option<serde_json::Value>,
}

/// The policy.
pub struct JsRules;

/// Where problems of the script are reported in the settings document.
const SCRIPT_PATH: &str = "script";
/// Where the script's `config` is in the settings document.
const CONFIG_PATH: &str = "config";

/// A script that cannot be loaded as a settings error: at `config` and the path the script's
/// `validateConfig` gave when it refused the config, else at `script`.
fn refusal(error: ScriptError) -> SettingsError {
    match error {
        ScriptError::Config { path, message } if path.is_empty() => error_at(CONFIG_PATH, message),
        ScriptError::Config { path, message } if path.starts_with('[') => {
            error_at(format!("{CONFIG_PATH}{path}"), message)
        }
        ScriptError::Config { path, message } => error_at(format!("{CONFIG_PATH}.{path}"), message),
        other => error_at(SCRIPT_PATH, other.to_string()),
    }
}

impl Policy for JsRules {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), SettingsError> {
        Script::load(settings).map(drop).map_err(refusal)
    }

    fn on_load(settings: &Settings) -> Result<(), SettingsError> {
        Script::with(settings, |_| Ok(())).map_err(refusal)
    }

    /// The module exports both entries; a script may define only one of them.
    fn missing_entries(settings: &Settings) -> MissingEntries {
        let missing = |entry| Some(error_at(SCRIPT_PATH, ScriptError::Missing(entry).to_string()));
        match Script::with(settings, |script| Ok(script.exports())) {
            Ok((user_rules, group_rules)) => MissingEntries {
                user_rules: if user_rules { None } else { missing(script::DECIDE_USER) },
                group_rules: if group_rules { None } else { missing(script::DECIDE_GROUP) },
            },
            Err(error) => {
                let refused = refusal(error);
                MissingEntries { user_rules: Some(refused.clone()), group_rules: Some(refused) }
            }
        }
    }
}

impl UserRules for JsRules {
    fn decide_user(settings: &Settings, user: &User, context: &Context, trace: &mut Trace) -> UserDecision {
        Self::try_decide_user(settings, user, context, trace).unwrap_or_else(|e| {
            trace.note(None, format!("the script could not decide, so the user is blocked: {e}"));
            UserDecision::no_organization()
        })
    }

    fn try_decide_user(
        settings: &Settings,
        user: &User,
        context: &Context,
        trace: &mut Trace,
    ) -> Result<UserDecision, String> {
        Script::with(settings, |script| script.decide_user(user, context, trace)).map_err(|e| e.to_string())
    }
}

impl GroupRules for JsRules {
    fn decide_group(settings: &Settings, group: &str, context: &Context, trace: &mut Trace) -> GroupAssignment {
        Self::try_decide_group(settings, group, context, trace).unwrap_or_else(|e| {
            trace.note(None, format!("the script could not decide, so the group is marked with no organization: {e}"));
            GroupAssignment::organizations(group, [] as [&str; 0])
        })
    }

    fn try_decide_group(
        settings: &Settings,
        group: &str,
        context: &Context,
        trace: &mut Trace,
    ) -> Result<GroupAssignment, String> {
        Script::with(settings, |script| script.decide_group(group, context, trace)).map_err(|e| e.to_string())
    }
}

/// QuickJS asks the platform for the time; rules get none (the prelude fixes `Date.now()` at 0
/// too), and the module imports nothing but the host's functions.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
extern "C" fn __rquickjs_host_now_us() -> f64 {
    0.0
}

muster_guest::export!(JsRules { user_rules, group_rules, settings_schema = include_str!("../settings.schema.json") });

#[cfg(test)]
mod tests;
