//! API keys of a tenant: admin keys and evaluation keys, shown once, stored hashed.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    error::ApiError,
    extract::{ApiJson, Bearer},
};
use crate::{
    auth,
    service::{
        SharedState,
        access::{self, Need},
        now_millis,
    },
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
    Bearer(token): Bearer,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<NewKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let now = now_millis();
    let (key, token) = auth::new_api_key(&tenant, body.kind, &body.label, now);
    state.store.insert_key(&key, &Audit { actor: caller.actor(), at: now }).await?;
    Ok((StatusCode::CREATED, Json(json!({ "key": key, "token": token }))))
}

/// Lists the tenant's keys (never their secrets).
pub async fn list(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    Ok(Json(json!({ "keys": state.store.list_keys(&tenant).await? })))
}

/// Revokes a key at once.
pub async fn revoke(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let caller = access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    state.store.revoke_key(&tenant, &key, &Audit { actor: caller.actor(), at: now_millis() }).await?;
    Ok(StatusCode::NO_CONTENT)
}
