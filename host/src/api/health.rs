//! `GET /healthz`: the service is up and its store answers.

use axum::{Json, extract::State};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::service::SharedState;

/// Answers `{"status": "ok", "store": "sqlite"}` once the store answers a query.
pub async fn health(State(state): State<SharedState>) -> Result<Json<Value>, ApiError> {
    state.store.list_tenants().await?;
    Ok(Json(json!({ "status": "ok", "store": state.store.backend() })))
}
