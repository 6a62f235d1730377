//! `muster test`: fixture files through the engine.

use std::{path::PathBuf, process::ExitCode};

use muster_harness::Subject;

/// Run harness fixture files through the engine on a compiled module.
#[derive(clap::Args)]
pub struct TestArgs {
    /// The compiled rule module (.wasm).
    #[arg(long, value_name = "M.wasm")]
    module: PathBuf,
    /// Fixture files, or directories of `*.json` fixture files.
    #[arg(required = true, value_name = "FIXTURES")]
    fixtures: Vec<PathBuf>,
}

/// Runs `muster test`: prints the report; exits 1 when a case failed.
pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let subject = muster_harness::Wasm::load(&args.module).map_err(anyhow::Error::msg)?;
    let report = subject.run(&args.fixtures);
    print!("{report}");
    Ok(if report.all_passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
