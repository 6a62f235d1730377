//! Tenants: created by the operator, each with a first admin key.

use axum::{Json, extract::{Path, State}, http::StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{error::ApiError, extract::{ApiJson, Bearer}};
use crate::{
    auth,
    service::{SharedState, access::{self, Need}, now_millis},
    store::{Audit, model::{KeyKind, Tenant}},
};

/// `POST /v1/tenants` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    id: String,
    name: String,
}

/// Creates a tenant and its first admin key (operator only). The key is shown once.
pub async fn create(State(state): State<SharedState>, Bearer(token): Bearer, ApiJson(body): ApiJson<NewTenant>) -> Result<(StatusCode, Json<Value>), ApiError> {
    access::operator(&state, token.as_deref())?;
    check_slug("tenant id", &body.id)?;
    let now = now_millis();
    let audit = Audit { actor: "operator".into(), at: now };
    let tenant = Tenant { id: body.id, name: body.name, decision_retention_days: None, created_at: now };
    state.store.create_tenant(&tenant, &audit).await?;
    let (key, token) = auth::new_api_key(&tenant.id, KeyKind::Admin, "first admin key", now);
    state.store.insert_key(&key, &audit).await?;
    Ok((StatusCode::CREATED, Json(json!({ "tenant": tenant, "admin_key": key, "token": token }))))
}

/// Lists all tenants (operator only).
pub async fn list(State(state): State<SharedState>, Bearer(token): Bearer) -> Result<Json<Value>, ApiError> {
    access::operator(&state, token.as_deref())?;
    Ok(Json(json!({ "tenants": state.store.list_tenants().await? })))
}

/// Shows the caller's tenant.
pub async fn get(State(state): State<SharedState>, Bearer(token): Bearer, Path(tenant): Path<String>) -> Result<Json<Tenant>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let found = state.store.get_tenant(&tenant).await?;
    found.map(Json).ok_or_else(|| ApiError::NotFound(format!("no tenant {tenant}")))
}

/// Ids of tenants, realms and organizations: 1–63 lower-case letters, digits and dashes,
/// starting with a letter or digit (they appear in URLs).
pub fn check_slug(what: &str, slug: &str) -> Result<(), ApiError> {
    let valid = (1..=63).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if valid {
        Ok(())
    } else {
        Err(ApiError::Unprocessable(format!(
            "{what} {slug:?} must be 1–63 lower-case letters, digits and dashes, not starting with a dash"
        )))
    }
}
