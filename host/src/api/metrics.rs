//! `GET /metrics` and the middleware that counts every request.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::header::CONTENT_TYPE,
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::error::ErrorCode;
use crate::service::{
    SharedState,
    metrics::{HttpLabels, RouteLabels, method_label},
};

/// Every metric in the Prometheus text format (unauthenticated; labels carry no tenant ids).
pub async fn render(State(state): State<SharedState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render())
}

/// Counts the request by route and status, times it, and counts error responses by code.
///
/// Every label is from a closed set, whatever the client sends: the method is a standard one or
/// `other`, the route the template the router matched (never the path itself) or `unmatched`.
pub async fn track(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method().as_str());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    let metrics = &state.metrics;
    if let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>() {
        metrics.error(code);
    }
    let status = response.status().as_u16();
    metrics
        .http_request_seconds
        .get_or_create(&RouteLabels { method, route: route.clone() })
        .observe(started.elapsed().as_secs_f64());
    metrics.http_requests.get_or_create(&HttpLabels { method, route, status }).inc();
    response
}
