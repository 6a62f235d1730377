//! What the protocol edges call: shared state, access control, rules, logins, provisioning.
//! Everything here speaks the domain: failures are [`error::ServiceError`]s, never statuses.

pub mod access;
pub mod compiles;
pub mod decide;
pub mod draft_set;
pub mod drafts;
pub mod engine_work;
pub mod error;
pub mod failure_rates;
pub mod login;
pub mod metrics;
pub mod module_cache;
pub mod modules;
pub mod ports;
pub mod preview;
pub mod provisioning;
pub mod readiness;
pub mod retention;
pub mod retry;
pub mod rules;
pub mod sessions;
pub mod settings_schema;
pub mod shadow;
pub mod tenant_slots;
pub mod throttle;

use std::sync::Arc;

use muster_store::Store;

/// State shared by every request.
pub struct AppState {
    /// Where everything is kept.
    pub store: Store,
    /// Loads and runs rule modules.
    pub rules: rules::RuleRunner,
    /// Runs shadow versions beside live evaluations.
    pub shadow: shadow::ShadowRunner,
    /// Live evaluations and failures per realm version over the last minute, for automatic
    /// rollback.
    pub failure_rates: failure_rates::FailureRates,
    /// What `GET /metrics` exposes.
    pub metrics: Arc<metrics::Metrics>,
    /// Rate limits on authentication and on the token endpoint.
    pub throttle: throttle::Throttle,
    /// The last answer of the readiness probe (`GET /readyz`).
    pub readiness: readiness::Readiness,
    /// SHA-256 of the operator token (`MUSTER_OPERATOR_TOKEN`), if one is configured.
    pub operator_token_sha256: Option<String>,
    /// The operational knobs (lifetimes, limits, concurrency) the service runs with.
    pub config: Arc<crate::config::Config>,
}

/// The state as handlers receive it.
pub type SharedState = Arc<AppState>;

/// The current time in Unix milliseconds.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}
