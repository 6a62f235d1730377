//! The service's wiring: the store, the engine and the shared state from a [`Config`], the
//! retention job, and the router served until a shutdown future completes. `muster serve` and
//! in-process tests start a server the same way.
//!
//! ```no_run
//! # async fn example() -> Result<(), muster::server::ServerError> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(muster::server::ServerError::Serve)?;
//! let config = muster::config::Config::default();
//! muster::server::run(listener, config, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod connections;

use std::{future::Future, path::PathBuf, sync::Arc};

use muster_engine::{Engine, EngineError};
use muster_store::{Store, StoreError};

use crate::{
    api, auth,
    config::{Config, ConfigError},
    service::{
        AppState, SharedState, engine_work::EngineWork, failure_rates::FailureRates, metrics::Metrics,
        readiness::Readiness, retention, rules::RuleRunner, shadow::ShadowRunner, tenant_slots::TenantSlots,
        throttle::Throttle,
    },
};

/// Why a server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be created.
    #[error("cannot create data directory {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store could not be opened (or migrated).
    #[error("cannot open the {backend} store: {source}")]
    Store {
        /// `"embedded"` or `"PostgreSQL"`.
        backend: &'static str,
        /// Why.
        source: StoreError,
    },
    /// The rule engine could not be built from the configured limits.
    #[error("cannot start the rule engine: {0}")]
    Engine(#[from] EngineError),
    /// Serving failed (the listener broke).
    #[error("serving failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Opens the store, builds the engine and the state, starts the retention job and serves the API
/// on `listener` until `shutdown` completes, then finishes in-flight requests and closes the
/// store. `config.listen` is not used: the listener is.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let state = open(config).await?;
    serve(listener, state, shutdown).await
}

/// The first half of [`run`]: the state a server runs on (the data directory and store opened,
/// the schema migrated, the engine built), for a caller that prepares it before serving (as
/// `muster serve --demo` seeds its demo tenant).
pub async fn open(config: Config) -> Result<SharedState, ServerError> {
    config.validate()?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|source| ServerError::DataDir { path: config.data_dir.clone(), source })?;
    let pool_size = config.store_pool_size.get();
    let store = match &config.database_url {
        Some(url) => Store::connect_with(url, pool_size)
            .await
            .map_err(|source| ServerError::Store { backend: "PostgreSQL", source })?,
        None => Store::open_data_dir_with(&config.data_dir, pool_size)
            .await
            .map_err(|source| ServerError::Store { backend: "embedded", source })?,
    };
    let engine = Engine::new(config.engine_config())?;
    let operator_token_sha256 = config
        .operator_token
        .as_ref()
        .map(|token| token.expose())
        .filter(|token| !token.is_empty())
        .map(auth::sha256_hex);
    let metrics = Arc::new(Metrics::default());
    Ok(Arc::new(AppState {
        store,
        rules: RuleRunner::new(
            Arc::new(engine),
            config.module_cache,
            config.module_cache_bytes,
            Arc::clone(&metrics),
            TenantSlots::new(config.max_evaluations_per_tenant, config.engine.timeout.saturating_mul(2)),
        )
        .with_tenant_compiles(config.tenant_max_concurrent_compiles)
        .with_engine_work(EngineWork::demoted_after(config.demote_engine_work_after)),
        shadow: ShadowRunner::new(config.shadow_max_in_flight),
        failure_rates: FailureRates::default(),
        throttle: Throttle::new(config.auth_failures_per_minute, config.token_requests_per_minute),
        metrics,
        readiness: Readiness::default(),
        operator_token_sha256,
        config: Arc::new(config),
    }))
}

/// The second half of [`run`]: serves `state` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let address = listener.local_addr().map_err(ServerError::Serve)?;
    tracing::info!(%address, store = state.store.backend(), "muster is listening");
    let retention = tokio::spawn(retention::run_periodically(Arc::clone(&state), state.config.retention_interval));
    let throttle = tokio::spawn(forget_idle_budgets(Arc::clone(&state)));
    let limits = connections::ConnectionLimits {
        max_connections: state.config.max_connections.get(),
        header_read_timeout: state.config.header_read_timeout,
        max_requests_per_connection: state.config.max_requests_per_connection,
    };
    let served = connections::serve(listener, api::router(Arc::clone(&state)), limits, shutdown).await;
    retention.abort();
    throttle.abort();
    state.store.close().await;
    served.map_err(ServerError::Serve)?;
    tracing::info!("muster stopped");
    Ok(())
}

/// Every minute, drops the rate-limit budgets that are full again.
async fn forget_idle_budgets(state: SharedState) {
    let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        state.throttle.forget_idle();
    }
}
