//! `POST /floor`, served only with `benchmark_floor`: the cheapest request the server answers
//! that carries a body like a login's. The body is read and parsed as JSON by the same
//! extractor, under the same limits; no key is checked, nothing is stored, no rule runs. The
//! load generator drives it beside the logins, on the same connections, so a login's cost is
//! measured against the HTTP request it rides on. It is not part of the API (not in the OpenAPI
//! document): a benchmark's instrument, documented with its knob.

use axum::{Json, Router, routing::post};
use serde_json::{Value, json};

use super::extract::ApiJson;

/// `POST /floor` when `enabled`; no route at all otherwise.
pub fn router<S: Clone + Send + Sync + 'static>(enabled: bool) -> Router<S> {
    if enabled { Router::new().route("/floor", post(floor)) } else { Router::new() }
}

/// Answers `{"status": "ok", "fields": N}`: how many top-level fields the body had.
async fn floor(ApiJson(body): ApiJson<Value>) -> Json<Value> {
    let fields = body.as_object().map_or(0, serde_json::Map::len);
    Json(json!({ "status": "ok", "fields": fields }))
}
