//! `muster serve`: the HTTP service.

use std::{net::SocketAddr, num::NonZeroUsize, path::PathBuf, sync::Arc};

use anyhow::Context as _;
use muster_engine::{Engine, EngineConfig};

use muster::{
    api, auth,
    service::{AppState, metrics::Metrics, retention, rules::RuleRunner, shadow::ShadowRunner},
};
use muster_store::Store;

use super::demo;

/// Run the multi-tenant HTTP service.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "MUSTER_LISTEN")]
    listen: SocketAddr,
    /// Directory of the embedded SQLite store and the compiled-module cache (the default store).
    #[arg(long, default_value = "muster-data", env = "MUSTER_DATA_DIR")]
    data_dir: PathBuf,
    /// Use PostgreSQL instead of the embedded store (`postgres://user@host/db`).
    #[arg(long, env = "MUSTER_DATABASE_URL")]
    database_url: Option<String>,
    /// Compiled modules kept in memory (more are reloaded from the disk cache on demand).
    #[arg(long, default_value_t = NonZeroUsize::new(1024).expect("not zero"))]
    module_cache: NonZeroUsize,
    /// How often decision records past their tenant's retention are deleted (e.g. `1h`, `10m`).
    #[arg(long, default_value = "1h", env = "MUSTER_RETENTION_INTERVAL", value_parser = positive_duration)]
    retention_interval: std::time::Duration,
    /// Seed a demo tenant with the stock rule modules (from --modules-dir) and write its keys
    /// to <data-dir>/demo-admin-token and <data-dir>/demo-eval-token.
    #[arg(long)]
    demo: bool,
    /// Where the stock rule modules were built (for --demo).
    #[arg(long, default_value = "target/wasm/wasm32-unknown-unknown/wasm-release")]
    modules_dir: PathBuf,
}

/// Runs `muster serve` until SIGINT or SIGTERM, then finishes in-flight requests.
pub fn run(args: ServeArgs) -> anyhow::Result<std::process::ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(args))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let store = match &args.database_url {
        Some(url) => Store::connect(url).await.context("cannot open the PostgreSQL store")?,
        None => Store::open_data_dir(&args.data_dir).await.context("cannot open the embedded store")?,
    };
    let engine =
        Engine::new(EngineConfig { cache_dir: Some(args.data_dir.join("module-cache")), ..EngineConfig::default() })?;
    let operator_token_sha256 =
        std::env::var("MUSTER_OPERATOR_TOKEN").ok().filter(|t| !t.is_empty()).map(|t| auth::sha256_hex(&t));
    let metrics = Arc::new(Metrics::default());
    let state = Arc::new(AppState {
        store,
        rules: RuleRunner::new(Arc::new(engine), args.module_cache, Arc::clone(&metrics)),
        shadow: ShadowRunner::default(),
        metrics,
        operator_token_sha256,
    });
    if args.demo {
        demo::seed(&state, &args.modules_dir, &args.data_dir).await.context("cannot seed the demo tenant")?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %args.listen, store = state.store.backend(), "muster is listening");
    let retention = tokio::spawn(retention::run_periodically(Arc::clone(&state), args.retention_interval));
    axum::serve(listener, api::router(state)).with_graceful_shutdown(shutdown_signal()).await?;
    retention.abort();
    tracing::info!("muster stopped");
    Ok(())
}

/// A duration such as `1h` or `90s`, not zero.
fn positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err("must be longer than zero".into()),
        Ok(duration) => Ok(duration),
        Err(error) => Err(error.to_string()),
    }
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
