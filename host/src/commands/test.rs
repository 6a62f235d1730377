//! `muster test`: fixture files through the engine.

mod format;

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

use anyhow::{Context as _, bail};
use muster_harness::{Coverage, fixture::Case};

use crate::commands::checkout::Checkout;

/// Run harness fixture files through the engine on a compiled module.
#[derive(clap::Args)]
pub struct TestArgs {
    /// The compiled rule module (.wasm).
    #[arg(long, value_name = "M.wasm", required_unless_present = "build", conflicts_with = "build")]
    module: Option<PathBuf>,
    /// Build the rule-module crate in CRATE_DIR first (`scripts/build-policies --manifest-path
    /// CRATE_DIR/Cargo.toml`, of the muster checkout holding the current directory or this
    /// binary) and test the module it built; FIXTURES default to CRATE_DIR/fixtures.
    #[arg(long, value_name = "CRATE_DIR")]
    build: Option<PathBuf>,
    /// Fixture files, or directories of `*.json` fixture files.
    #[arg(value_name = "FIXTURES", required_unless_present = "build")]
    fixtures: Vec<PathBuf>,
    /// Run only the cases whose name contains PATTERN.
    #[arg(long = "run", value_name = "PATTERN")]
    run: Option<String>,
    /// List the passing cases too (text format).
    #[arg(short, long)]
    verbose: bool,
    /// How to print the report: text, json (one document) or junit (XML for CI).
    #[arg(long, value_enum, default_value_t = format::Format::Text)]
    format: format::Format,
}

/// Runs `muster test`: prints the report and the coverage; exits 1 when a case failed or none
/// ran.
pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let (module, fixtures) = match &args.build {
        Some(crate_dir) => {
            let fixtures = if args.fixtures.is_empty() { vec![crate_dir.join("fixtures")] } else { args.fixtures };
            (build(crate_dir)?, fixtures)
        }
        None => (args.module.context("--module or --build is required")?, args.fixtures),
    };
    let subject = muster_harness::Wasm::load(&module).map_err(anyhow::Error::msg)?;
    let select = |case: &Case| args.run.as_deref().is_none_or(|pattern| case.name.contains(pattern));
    let report = muster_harness::run_fixtures_where(&subject, &fixtures, select);
    let coverage = Coverage::of(&report);
    print!("{}", format::render(args.format, &report, &coverage, args.verbose));
    Ok(if report.all_passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Builds the crate in `crate_dir` with `scripts/build-policies`; returns the module's path
/// (the last line the script prints).
fn build(crate_dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest = crate_dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!("--build {}: no Cargo.toml there", crate_dir.display());
    }
    let script = Checkout::find(None)?.build_policies();
    let output = Command::new(&script)
        .arg("--manifest-path")
        .arg(&manifest)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !output.status.success() {
        bail!("{} --manifest-path {} failed (its output is above)", script.display(), manifest.display());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let module = stdout.lines().last().context("build-policies printed no module path")?;
    Ok(PathBuf::from(module))
}
