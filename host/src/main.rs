//! `muster`: the command-line entry point.
//!
//! * `muster eval` evaluates one input with a rule module and prints the decision and trace;
//! * `muster test` runs fixture files through the engine on a compiled module (with the
//!   `test-command` feature, on by default);
//! * `muster serve` runs the multi-tenant HTTP service;
//! * `muster new` writes a new rule-module crate;
//! * `muster upload`, `versions`, `activate`, … administer a realm through the HTTP API.

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
    Serve(Box<commands::serve::ServeArgs>),
    Eval(commands::eval::EvalArgs),
    New(commands::new::NewArgs),
    #[cfg(feature = "test-command")]
    Test(commands::test::TestArgs),
    #[command(flatten)]
    Admin(Box<commands::admin::AdminCommand>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let outcome = match cli.command {
        Command::Serve(args) => commands::serve::run(*args),
        Command::Eval(args) => commands::eval::run(args),
        Command::New(args) => commands::new::run(args),
        #[cfg(feature = "test-command")]
        Command::Test(args) => commands::test::run(args),
        Command::Admin(command) => Ok(commands::admin::run(*command)),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            // One line, whatever the causes hold (an engine's message may span several).
            let message = format!("{error:#}");
            eprintln!("error: {}", message.split_whitespace().collect::<Vec<_>>().join(" "));
            ExitCode::FAILURE
        }
    }
}

/// Structured logs on stderr: `RUST_LOG` filters (default `info`), `MUSTER_LOG_FORMAT=json`
/// switches to JSON lines.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("MUSTER_LOG_FORMAT").is_ok_and(|format| format == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
