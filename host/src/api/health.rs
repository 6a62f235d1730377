//! `GET /healthz` (the process is up: answered from memory, for every-second probes and load
//! floors) and `GET /readyz` (its store answers: asked at most once a second).

use axum::{Json, extract::State};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::service::{SharedState, readiness::FRESH_FOR};

/// Answers `{"status": "ok", "store": "sqlite"}` without touching the store.
pub async fn health(State(state): State<SharedState>) -> Json<Value> {
    Json(json!({ "status": "ok", "store": state.store.backend() }))
}

/// Answers `{"status": "ready", "store": "sqlite"}` when the store answers a query (the answer
/// stands for a second), `503` saying why when it does not.
pub async fn ready(State(state): State<SharedState>) -> Result<Json<Value>, ApiError> {
    state
        .readiness
        .check(|| async { state.store.ping().await.map_err(|error| error.to_string()) })
        .await
        .map_err(|why| ApiError::Unavailable(format!("the store does not answer: {why}"), FRESH_FOR))?;
    Ok(Json(json!({ "status": "ready", "store": state.store.backend() })))
}
