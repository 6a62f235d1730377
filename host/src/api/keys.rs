//! API keys of a tenant: admin keys and evaluation keys, shown once, stored hashed.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{caller::TenantCaller, error::ApiError, extract::ApiJson};
use crate::{
    auth,
    service::{SharedState, now_millis},
};
use muster_store::{Audit, model::KeyKind};

/// `POST …/keys` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    kind: KeyKind,
    #[serde(default)]
    label: String,
}

/// Creates a key; the response holds the token, which is never shown again.
pub async fn create(
    State(state): State<SharedState>,
    TenantCaller { caller, tenant, .. }: TenantCaller,
    ApiJson(body): ApiJson<NewKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = now_millis();
    let (key, token) = auth::new_api_key(&tenant, body.kind, &body.label, now);
    state.store.insert_key(&key, &Audit { actor: caller.actor(), at: now }).await?;
    Ok((StatusCode::CREATED, Json(json!({ "key": key, "token": token }))))
}

/// Lists the tenant's keys (never their secrets).
pub async fn list(
    State(state): State<SharedState>,
    TenantCaller { tenant, .. }: TenantCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "keys": state.store.list_keys(&tenant).await? })))
}

/// Revokes a key at once.
pub async fn revoke(
    State(state): State<SharedState>,
    TenantCaller { caller, tenant, .. }: TenantCaller,
    Path((_, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.store.revoke_key(&tenant, &key, &Audit { actor: caller.actor(), at: now_millis() }).await?;
    Ok(StatusCode::NO_CONTENT)
}
