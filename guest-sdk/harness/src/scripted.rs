//! JavaScript rules under test: a fixture file's settings document becomes the script's
//! `config`, so the same fixture file runs against a Rust module and against its JavaScript twin
//! (`muster test --script`, docs/javascript.md). A refusal of the config by the script's
//! `validateConfig` is reported at its place in the fixture's settings, so cases expecting a
//! settings error hold too.

use muster_wire::{Context, GroupDecision, User, UserDecision};

use crate::{Failure, Subject, subject::Traced};

/// The stock `js-rules` module (`inner`: natively or compiled) running one script: each
/// fixture's settings document is handed to the script as `context.config`, in the settings
/// `{"script": …, "config": …}`.
pub struct Scripted<S> {
    inner: S,
    script: String,
    name: String,
}

impl<S: Subject> Scripted<S> {
    /// `inner` running `script`, named `name` (the script's file, say) in reports.
    pub fn new(inner: S, script: impl Into<String>, name: impl Into<String>) -> Self {
        Self { inner, script: script.into(), name: name.into() }
    }

    /// The js-rules settings document that runs the script with `config`.
    fn settings(&self, config: &[u8]) -> Result<Vec<u8>, Failure> {
        let config: serde_json::Value = serde_json::from_slice(config)
            .map_err(|e| Failure::Error(format!("the fixture's settings are not JSON: {e}")))?;
        let settings = serde_json::json!({ "script": self.script, "config": config });
        serde_json::to_vec(&settings).map_err(|e| Failure::Error(e.to_string()))
    }
}

/// The place in the fixture's settings (the script's config) of a refusal at `path` in the
/// js-rules settings, when it is inside `config`: `config.rules[0]` is `rules[0]`, `config` is
/// the whole document (`""`).
fn config_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("config")?;
    match rest.strip_prefix('.') {
        Some(inside) => Some(inside),
        None if rest.is_empty() || rest.starts_with('[') => Some(rest),
        None => None,
    }
}

impl<S: Subject> Subject for Scripted<S> {
    fn label(&self) -> String {
        format!("{} running {}", self.inner.label(), self.name)
    }

    fn prepare(&self, settings_json: &[u8]) -> Result<Vec<u8>, Failure> {
        self.inner.prepare(&self.settings(settings_json)?).map_err(|failure| match failure {
            Failure::InvalidSettings(mut error) => {
                if let Some(path) = config_path(&error.path) {
                    error.path = path.to_owned();
                }
                Failure::InvalidSettings(error)
            }
            other => other,
        })
    }

    fn user(&self, settings: &[u8], context: &Context, user: &User) -> Result<Traced<UserDecision>, Failure> {
        self.inner.user(settings, context, user)
    }

    fn groups(&self, settings: &[u8], context: &Context, groups: &[String]) -> Result<Traced<GroupDecision>, Failure> {
        self.inner.groups(settings, context, groups)
    }
}

#[cfg(test)]
mod tests {
    use super::config_path;

    #[test]
    fn refusals_inside_the_config_are_placed_in_the_fixture_settings() {
        assert_eq!(config_path("config"), Some(""));
        assert_eq!(config_path("config.rules[0].pattern"), Some("rules[0].pattern"));
        assert_eq!(config_path("config[2]"), Some("[2]"));
        assert_eq!(config_path("script"), None);
        assert_eq!(config_path("configuration"), None);
    }
}
