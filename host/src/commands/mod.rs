//! One module per subcommand.

pub mod admin;
pub mod checkout;
pub mod demo;
pub mod eval;
pub mod new;
pub mod script;
pub mod serve;
#[cfg(feature = "test-command")]
pub mod test;

use std::path::Path;

use anyhow::Context as _;
use muster_engine::{Engine, EngineConfig, RuleModule};

/// Loads a module file into a fresh engine, with the file name in every error.
pub fn load_module(path: &Path) -> anyhow::Result<(Engine, RuleModule)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read module {}", path.display()))?;
    let engine = Engine::new(EngineConfig::default())?;
    let module = engine.load(&bytes).with_context(|| format!("module {} was refused", path.display()))?;
    Ok((engine, module))
}
