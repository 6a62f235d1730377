//! The SCIM 2.0 service of every realm, at `/scim/{tenant}/{realm}/v2/` (`docs/scim.md`), and
//! its OAuth2 token endpoint. Every endpoint but the token one sits behind
//! [`audit::authenticate_and_audit`]; every answer, error or not, is `application/scim+json`
//! (the API's `405` for a method a SCIM path does not take is a SCIM error too: [`method_not_allowed`]).

mod audit;
mod auth;
mod discovery;
mod error;
mod group_endpoints;
mod http;
mod token;
mod user_endpoints;

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
        .route(&format!("{base}/Users"), get(user_endpoints::list).post(user_endpoints::create))
        .route(&format!("{base}/Users/.search"), post(user_endpoints::search))
        .route(
            &format!("{base}/Users/{{id}}"),
            get(user_endpoints::get)
                .put(user_endpoints::replace)
                .patch(user_endpoints::patch)
                .delete(user_endpoints::delete),
        )
        .route(&format!("{base}/Groups"), get(group_endpoints::list).post(group_endpoints::create))
        .route(&format!("{base}/Groups/.search"), post(group_endpoints::search))
        .route(
            &format!("{base}/Groups/{{id}}"),
            get(group_endpoints::get)
                .put(group_endpoints::replace)
                .patch(group_endpoints::patch)
                .delete(group_endpoints::delete),
        )
        .route(&format!("{base}/.search"), post(discovery::search))
        .route(&format!("{base}/ServiceProviderConfig"), get(discovery::service_provider_config))
        .route(&format!("{base}/ResourceTypes"), get(discovery::resource_types))
        .route(&format!("{base}/ResourceTypes/{{id}}"), get(discovery::resource_type))
        .route(&format!("{base}/Schemas"), get(discovery::schemas))
        .route(&format!("{base}/Schemas/{{id}}"), get(discovery::schema))
        .route(base, any(discovery::base))
        .route(&format!("{base}/{{*rest}}"), any(discovery::no_such_endpoint))
        .route_layer(from_fn_with_state(state, audit::authenticate_and_audit));
    endpoints.route("/scim/{tenant}/{realm}/oauth/token", post(token::issue))
}

/// The path a SCIM client meant: under a realm's SCIM base (`/scim/{tenant}/{realm}/v2`), empty
/// segments and a trailing slash are dropped, so `…/v2/Users/`, `…/v2//Users` (a Tenant URL
/// ending in `/` joined with `/Users`, as Entra ID does with `…/v2/?aadOptscim062020`) and
/// `…/v2/` reach `…/v2/Users` and the base. Every other path, and the query, is left alone.
/// Runs before routing ([`super::router`]).
pub fn normalize_path<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    let uri = request.uri();
    let path = uri.path();
    let segments: Vec<&str> = path.split('/').collect();
    // "", "scim", tenant, realm, "v2", rest…
    let under_base = segments.len() > 5
        && segments[1] == "scim"
        && !segments[2].is_empty()
        && !segments[3].is_empty()
        && segments[4] == "v2";
    if !under_base || !segments[5..].iter().any(|segment| segment.is_empty()) {
        return request;
    }
    let mut normalized = segments[..5].join("/");
    for segment in segments[5..].iter().filter(|segment| !segment.is_empty()) {
        normalized.push('/');
        normalized.push_str(segment);
    }
    if let Some(query) = uri.query() {
        normalized.push('?');
        normalized.push_str(query);
    }
    let mut parts = uri.clone().into_parts();
    match normalized.parse() {
        Ok(path_and_query) => parts.path_and_query = Some(path_and_query),
        Err(_) => return request,
    }
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
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
