//! The SCIM 2.0 service of every realm, at `/scim/{tenant}/{realm}/v2/` (`docs/scim.md`), and
//! its OAuth2 token endpoint. Every endpoint but the token one sits behind
//! [`audit::authenticate_and_audit`]; every answer, error or not, is `application/scim+json`
//! (the API's `405` for a method a SCIM path does not take is a SCIM error too: [`method_not_allowed`]).

mod audit;
mod auth;
mod discovery;
mod groups;
mod http;
mod token;
mod users;

use axum::{
    Router,
    http::{StatusCode, Uri},
    middleware::from_fn_with_state,
    response::{IntoResponse, Response},
    routing::{any, get, post},
};

use super::error::ApiError;
use crate::service::SharedState;
use muster_scim::error::ScimError;

/// The SCIM routes.
pub fn router(state: SharedState) -> Router<SharedState> {
    let base = "/scim/{tenant}/{realm}/v2";
    let endpoints = Router::new()
        .route(&format!("{base}/Users"), get(users::list).post(users::create))
        .route(&format!("{base}/Users/.search"), post(users::search))
        .route(
            &format!("{base}/Users/{{id}}"),
            get(users::get).put(users::replace).patch(users::patch).delete(users::delete),
        )
        .route(&format!("{base}/Groups"), get(groups::list).post(groups::create))
        .route(&format!("{base}/Groups/.search"), post(groups::search))
        .route(
            &format!("{base}/Groups/{{id}}"),
            get(groups::get).put(groups::replace).patch(groups::patch).delete(groups::delete),
        )
        .route(&format!("{base}/.search"), post(discovery::search))
        .route(&format!("{base}/ServiceProviderConfig"), get(discovery::service_provider_config))
        .route(&format!("{base}/ResourceTypes"), get(discovery::resource_types))
        .route(&format!("{base}/ResourceTypes/{{id}}"), get(discovery::resource_type))
        .route(&format!("{base}/Schemas"), get(discovery::schemas))
        .route(&format!("{base}/Schemas/{{id}}"), get(discovery::schema))
        .route(&format!("{base}/{{*rest}}"), any(discovery::no_such_endpoint))
        .route_layer(from_fn_with_state(state, audit::authenticate_and_audit));
    endpoints.route("/scim/{tenant}/{realm}/oauth/token", post(token::issue))
}

/// The `405` for a method a path does not take: a SCIM error under `/scim/`, the API's error
/// elsewhere.
pub async fn method_not_allowed(uri: Uri) -> Response {
    let detail = "this route does not take this method";
    if uri.path().starts_with("/scim/") {
        ScimError { status: StatusCode::METHOD_NOT_ALLOWED, scim_type: None, detail: detail.into() }.into_response()
    } else {
        ApiError::MethodNotAllowed(detail.into()).into_response()
    }
}
