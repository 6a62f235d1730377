//! `muster`: the command-line entry point.
//!
//! * `muster eval` evaluates one input with a rule module and prints the decision and trace;
//! * `muster test` runs fixture files through the engine on a compiled module.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Muster decides which organization a user belongs to and which groups they are in, by
/// running rule modules compiled to sandboxed WebAssembly.
#[derive(Parser)]
#[command(name = "muster", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Eval(commands::eval::EvalArgs),
    Test(commands::test::TestArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Eval(args) => commands::eval::run(args),
        Command::Test(args) => commands::test::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
