//! `muster test`: fixture files through the engine, once or (`--watch`) on every change.

mod format;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::{Duration, SystemTime},
};

use anyhow::{Context as _, bail};
use muster_harness::{Coverage, Scripted, Wasm, fixture::Case};

use crate::commands::{checkout::Checkout, script::Script, script::js_rules_module};

/// Run harness fixture files through the engine on a compiled module.
#[derive(clap::Args)]
pub struct TestArgs {
    /// The compiled rule module (.wasm). With --script: the js-rules module, by default the
    /// one `scripts/build-policies js-rules` built in this checkout.
    #[arg(long, value_name = "M.wasm", required_unless_present_any = ["build", "script"], conflicts_with = "build")]
    module: Option<PathBuf>,
    /// JavaScript rules (docs/javascript.md) to test, run by the stock js-rules module: each
    /// fixture file's `settings` is what the script sees as `context.config`, so a Rust
    /// module's fixture files test its JavaScript twin unchanged (their cases that expect a
    /// settings error hold when the script's `validateConfig` refuses the config at that place).
    #[arg(long, value_name = "RULES.js", conflicts_with = "build")]
    script: Option<PathBuf>,
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
    /// Keep running: run again whenever a fixture file, the module or (with --build) the
    /// crate's Cargo.toml or sources change; stop with Ctrl-C.
    #[arg(long)]
    watch: bool,
}

/// How often `--watch` looks at the files' modification times.
const WATCH_POLL: Duration = Duration::from_millis(300);

/// Runs `muster test`: prints the report and the coverage; exits 1 when a case failed or none
/// ran. With `--watch` it runs again on every change, until interrupted.
pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    if !args.watch {
        return Ok(if run_once(&args)? { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    let watched = watched_paths(&args);
    loop {
        let before = snapshot(&watched);
        // A failing build or an unreadable fixture is reported, and the next change retried.
        if let Err(error) = run_once(&args) {
            eprintln!("error: {error:#}");
        }
        eprintln!("watching {} for changes (Ctrl-C to stop)", describe(&watched));
        while snapshot(&watched) == before {
            std::thread::sleep(WATCH_POLL);
        }
        // Let an editor finish writing (several writes, a rename) before running again.
        std::thread::sleep(WATCH_POLL);
    }
}

/// One run: builds (with `--build`), runs the selected cases, prints the report; whether every
/// case passed.
fn run_once(args: &TestArgs) -> anyhow::Result<bool> {
    let select = |case: &Case| args.run.as_deref().is_none_or(|pattern| case.name.contains(pattern));
    let report = match (&args.build, &args.script) {
        (Some(crate_dir), _) => {
            let (module, fixtures) = (build(crate_dir)?, fixtures_of(args));
            // A module built from the crate holding the fixtures must hold its latest sources.
            muster_harness::check_fixtures_crate(&module, &fixtures)?;
            muster_harness::run_fixtures_where(&load(&module)?, &fixtures, select)
        }
        (None, Some(path)) => {
            let script = Script::read(path)?;
            let module = load(&js_rules_module(args.module.as_deref())?)?;
            let subject = Scripted::new(module, script.text, path.display().to_string());
            muster_harness::run_fixtures_where(&subject, &args.fixtures, select)
        }
        (None, None) => {
            let module = args.module.clone().context("--module, --script or --build is required")?;
            muster_harness::check_fixtures_crate(&module, &args.fixtures)?;
            muster_harness::run_fixtures_where(&load(&module)?, &args.fixtures, select)
        }
    };
    let coverage = Coverage::of(&report);
    print!("{}", format::render(args.format, &report, &coverage, args.verbose));
    Ok(report.all_passed())
}

/// The compiled module at `path`, run by the real engine.
fn load(path: &Path) -> anyhow::Result<Wasm> {
    Wasm::load(path).map_err(anyhow::Error::msg)
}

/// The fixture files or directories to run: those given, else (with `--build`) the crate's
/// `fixtures/`.
fn fixtures_of(args: &TestArgs) -> Vec<PathBuf> {
    match &args.build {
        Some(crate_dir) if args.fixtures.is_empty() => vec![crate_dir.join("fixtures")],
        _ => args.fixtures.clone(),
    }
}

/// What `--watch` watches: the fixtures, the script (`--script`), and the crate's manifest and
/// sources (`--build`) or the module (`--module`).
fn watched_paths(args: &TestArgs) -> Vec<PathBuf> {
    let mut paths = fixtures_of(args);
    paths.extend(args.script.clone());
    match (&args.build, &args.module) {
        (Some(crate_dir), _) => paths.extend([crate_dir.join("Cargo.toml"), crate_dir.join("src")]),
        (None, Some(module)) => paths.push(module.clone()),
        (None, None) => {}
    }
    paths
}

fn describe(paths: &[PathBuf]) -> String {
    paths.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Every file under `paths` (recursively) with its modification time and size; a file that
/// appears, disappears or changes changes the snapshot.
fn snapshot(paths: &[PathBuf]) -> BTreeMap<PathBuf, (Option<SystemTime>, u64)> {
    let mut files = BTreeMap::new();
    let mut pending = paths.to_vec();
    while let Some(path) = pending.pop() {
        let Ok(metadata) = std::fs::metadata(&path) else { continue };
        if metadata.is_dir() {
            pending.extend(std::fs::read_dir(&path).into_iter().flatten().flatten().map(|entry| entry.path()));
        } else {
            files.insert(path, (metadata.modified().ok(), metadata.len()));
        }
    }
    files
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
