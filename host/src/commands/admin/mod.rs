//! The admin commands: `muster upload`, `versions`, `activate`, `rollback`, `shadow`,
//! `dry-run`, `impact`, `backtest`, `replay`, `decisions`, `deprovision`. Each is a client of
//! the HTTP API (`docs/api.md`) with a tenant's admin key, printing a short summary or, with
//! `--json`, the server's answer unchanged; every failure is one `error: …` line and an exit
//! code of [`EXIT_CODES`].

mod client;
mod decisions;
mod deprovision;
mod dry_run;
mod files;
mod impact;
mod modules;
mod options;
mod output;
mod shadow;

use std::process::ExitCode;

/// The exit codes of every admin command, as their `--help` shows them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  the server refused the request (4xx); `error: <code>: <message>` says why
  2  usage: a bad argument, no admin key, an input file that cannot be read or is not JSON
  3  the server could not be reached, did not answer within --timeout, or failed (5xx)";

/// The admin commands, each a verb of `muster`.
#[derive(clap::Subcommand)]
pub enum AdminCommand {
    Upload(modules::UploadArgs),
    Versions(modules::VersionsArgs),
    Activate(modules::ActivateArgs),
    Rollback(modules::RollbackArgs),
    Shadow(shadow::ShadowArgs),
    DryRun(dry_run::DryRunArgs),
    Impact(impact::ImpactArgs),
    Backtest(impact::BacktestArgs),
    Replay(decisions::ReplayArgs),
    Decisions(decisions::DecisionsArgs),
    Deprovision(deprovision::DeprovisionArgs),
}

/// Runs an admin command; a failure is printed as one `error: …` line on standard error and
/// gives its exit code.
pub fn run(command: AdminCommand) -> ExitCode {
    let outcome = match command {
        AdminCommand::Upload(args) => modules::upload(args),
        AdminCommand::Versions(args) => modules::versions(args),
        AdminCommand::Activate(args) => modules::activate(args),
        AdminCommand::Rollback(args) => modules::rollback(args),
        AdminCommand::Shadow(args) => shadow::run(args),
        AdminCommand::DryRun(args) => dry_run::run(args),
        AdminCommand::Impact(args) => impact::impact(args),
        AdminCommand::Backtest(args) => impact::backtest(args),
        AdminCommand::Replay(args) => decisions::replay(args),
        AdminCommand::Decisions(args) => decisions::run(args),
        AdminCommand::Deprovision(args) => deprovision::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let message = failure.to_string();
            eprintln!("error: {}", message.split_whitespace().collect::<Vec<_>>().join(" "));
            ExitCode::from(failure.exit_code())
        }
    }
}
