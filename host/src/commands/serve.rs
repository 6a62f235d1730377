//! `muster serve`: the HTTP service. The knobs are [`muster::config`]'s; the wiring is
//! [`muster::server`]'s.

use std::path::PathBuf;

use anyhow::Context as _;

use muster::{config::ConfigArgs, server};

use super::demo;

/// Run the multi-tenant HTTP service.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Every operational knob (see docs/configuration.md).
    #[command(flatten)]
    config: ConfigArgs,
    /// Seed a demo tenant (realm entra on the stock user-rules and group-rules modules, realm
    /// okta-js on JavaScript rules run by js-rules; modules from --modules-dir) and write its keys
    /// to <data-dir>/demo-admin-token and <data-dir>/demo-eval-token (mode 0600; a data
    /// directory the demo creates is 0700).
    #[arg(long)]
    demo: bool,
    /// Where the stock rule modules were built (for --demo).
    #[arg(long, default_value = "target/wasm/wasm32-unknown-unknown/wasm-release")]
    modules_dir: PathBuf,
}

/// Runs `muster serve` until SIGINT or SIGTERM, then finishes in-flight requests.
pub fn run(args: ServeArgs) -> anyhow::Result<std::process::ExitCode> {
    let config = args.config.load()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        if !args.demo {
            return Ok(server::run(listener, config, shutdown_signal()).await?);
        }
        let data_dir = config.data_dir.clone();
        demo::prepare_data_dir(&data_dir)?;
        let state = server::open(config).await?;
        demo::seed(&state, &args.modules_dir, &data_dir).await.context("cannot seed the demo tenant")?;
        server::serve(listener, state, shutdown_signal()).await.map_err(anyhow::Error::from)
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = interrupt => {}, () = terminate => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}
