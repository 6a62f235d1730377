//! The HTTP API: one module per area, all errors as [`error::ApiError`] JSON.
//!
//! Routes are listed in `docs/api.md`.

mod audit;
mod backtest;
mod caller;
mod console;
mod decisions;
mod deprovision;
pub mod error;
mod evaluate;
mod extract;
mod floor;
mod health;
mod impact;
mod keys;
mod metrics;
mod modules;
mod openapi;
mod origin;
mod realms;
mod refusals;
mod reports;
mod scim;
mod scim_credentials;
mod sessions;
mod shadow;
mod tenants;
mod users;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{delete, get, post, put},
};
use std::sync::Arc;

use axum::http::StatusCode;
use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};

use crate::service::SharedState;

/// The whole API, with the body limits of `state.config` (`max_body_bytes`, and
/// `max_upload_bytes` for module uploads). SCIM paths are normalized before routing
/// (`scim::normalize_path`: a trailing slash or an empty segment under a realm's SCIM base).
pub fn router(state: SharedState) -> Router {
    use tower::Layer as _;
    let normalize = tower::util::MapRequestLayer::new(scim::normalize_path::<axum::body::Body>);
    Router::new().fallback_service(normalize.layer(routes(state)))
}

/// Every route, its fallbacks and its layers.
fn routes(state: SharedState) -> Router {
    let tenant = "/v1/tenants/{tenant}";
    let realm = "/v1/tenants/{tenant}/realms/{realm}";
    let module = "/v1/tenants/{tenant}/realms/{realm}/modules/{kind}";
    Router::new()
        .merge(floor::router(state.config.benchmark_floor))
        .route("/healthz", get(health::health))
        .route("/readyz", get(health::ready))
        .route("/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics::render))
        .route("/v1/tenants", post(tenants::create).get(tenants::list))
        .route(tenant, get(tenants::get))
        .route(&format!("{tenant}/retention"), put(tenants::set_retention))
        .route(&format!("{tenant}/keys"), post(keys::create).get(keys::list))
        .route(&format!("{tenant}/keys/{{key}}"), delete(keys::revoke))
        .route(&format!("{tenant}/organizations"), get(realms::list_organizations))
        .route(&format!("{tenant}/organizations/{{organization}}"), put(realms::save_organization))
        .route(&format!("{tenant}/realms"), post(realms::create).get(realms::list))
        .route(realm, get(realms::get).patch(realms::update))
        .route(&format!("{realm}/login"), post(evaluate::login))
        .route(&format!("{realm}/dry-run"), post(evaluate::dry_run_ad_hoc))
        .route(&format!("{realm}/users"), get(users::list))
        .route(&format!("{realm}/users/{{user}}"), get(users::get).delete(deprovision::delete))
        .route(&format!("{realm}/users/{{user}}/sessions"), get(users::sessions))
        .route(&format!("{realm}/users/{{user}}/deactivate"), post(deprovision::deactivate))
        .route(&format!("{realm}/users/{{user}}/reactivate"), post(deprovision::reactivate))
        .route(&format!("{realm}/deprovision"), post(deprovision::bulk))
        .route(&format!("{realm}/sessions/introspect"), post(sessions::introspect))
        .route(&format!("{realm}/reports/organizations"), get(reports::organizations))
        .route(&format!("{realm}/reports/groups"), get(reports::groups))
        .route(&format!("{realm}/scim/credentials"), post(scim_credentials::create).get(scim_credentials::list))
        .route(&format!("{realm}/scim/credentials/{{credential}}"), delete(scim_credentials::revoke))
        .route(&format!("{realm}/scim/credentials/{{credential}}/rotate"), post(scim_credentials::rotate))
        .route(&format!("{realm}/scim/bearer"), put(scim_credentials::set_bearer))
        .route(&format!("{realm}/scim/status"), get(scim_credentials::status))
        .route(&format!("{realm}/users/{{user}}/dry-run"), post(evaluate::dry_run_user))
        .route(module, post(modules::upload).layer(DefaultBodyLimit::max(state.config.max_upload_bytes)))
        .route(&format!("{module}/versions"), get(modules::list))
        .route(&format!("{module}/versions/{{version}}"), get(modules::get))
        .route(&format!("{module}/versions/{{version}}/activate"), post(modules::activate))
        .route(&format!("{module}/versions/{{version}}/impact"), post(impact::impact))
        .route(&format!("{module}/versions/{{version}}/backtest"), post(backtest::backtest))
        .route(&format!("{module}/rollback"), post(modules::rollback))
        .route(&format!("{module}/shadow"), put(shadow::set).delete(shadow::clear))
        .route(&format!("{realm}/shadow"), get(shadow::summary))
        .route(&format!("{tenant}/decisions"), get(decisions::list))
        .route(&format!("{tenant}/decisions/purge"), post(tenants::purge))
        .route(&format!("{tenant}/decisions/{{decision}}"), get(decisions::get))
        .route(&format!("{tenant}/decisions/{{decision}}/replay"), post(decisions::replay))
        .route(&format!("{tenant}/audit"), get(audit::list))
        .merge(scim::router(Arc::clone(&state)))
        .fallback(|| async { error::ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(scim::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::map_response(error::json_errors))
        // The console's pages are HTML, not API answers: merged after `json_errors`, so its "not
        // built" page stays a page. They need no key (the pages call the API with one).
        .merge(console::router())
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), metrics::track))
        .with_state(state)
}
