//! `--script`: JavaScript rules, run by the stock js-rules module (docs/javascript.md), for
//! `muster eval`, `muster test` and `muster upload`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::checkout::Checkout;

/// The library name of the stock module that runs JavaScript rules.
const JS_RULES: &str = "js_rules";

/// A script given with `--script`.
pub struct Script {
    /// Its text.
    pub text: String,
}

impl Script {
    /// Reads the script at `path`.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read script {}", path.display()))?;
        Ok(Self { text })
    }

    /// The js-rules settings document running this script with `config` (JSON text; none:
    /// `null`) as `context.config`.
    pub fn settings(&self, config: Option<&[u8]>) -> anyhow::Result<Vec<u8>> {
        let config = match config {
            Some(config) => serde_json::from_slice(config).context("the script's config is not JSON")?,
            None => serde_json::Value::Null,
        };
        Ok(serde_json::to_vec(&self.settings_document(config))?)
    }

    /// The js-rules settings document running this script with `config` as `context.config`.
    pub fn settings_document(&self, config: serde_json::Value) -> serde_json::Value {
        serde_json::json!({ "script": self.text, "config": config })
    }
}

/// The module that runs scripts: `module` when given, else the checkout's built js-rules
/// module.
pub fn js_rules_module(module: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(module) = module {
        return Ok(module.to_owned());
    }
    let built = Checkout::find(None)?.built_module(JS_RULES);
    if !built.is_file() {
        bail!("{} is not built: run scripts/build-policies js-rules, or pass --module", built.display());
    }
    Ok(built)
}
