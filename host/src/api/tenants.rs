//! Tenants: created by the operator, each with a first admin key.

use axum::{Json, extract::State, http::StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    caller::{Operator, TenantCaller},
    error::ApiError,
    extract::ApiJson,
};
use crate::{
    auth,
    service::{SharedState, now_millis, retention},
};
use muster_store::{
    Audit,
    model::{KeyKind, Tenant},
};

/// `POST /v1/tenants` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    id: String,
    name: String,
}

/// Creates a tenant and its first admin key (operator only). The key is shown once.
pub async fn create(
    State(state): State<SharedState>,
    _: Operator,
    ApiJson(body): ApiJson<NewTenant>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
pub async fn list(State(state): State<SharedState>, _: Operator) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "tenants": state.store.list_tenants().await? })))
}

/// Shows the caller's tenant.
pub async fn get(
    State(state): State<SharedState>,
    TenantCaller { tenant, .. }: TenantCaller,
) -> Result<Json<Tenant>, ApiError> {
    find_tenant(&state, &tenant).await.map(Json)
}

/// `PUT /v1/tenants/{tenant}/retention` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Days decision records are kept; `null` keeps them forever. Required: `{}` is refused,
    /// not taken as `null`.
    #[serde(deserialize_with = "Option::deserialize")]
    decision_retention_days: Option<i64>,
}

/// Sets how long the tenant's decision records are kept; answers the tenant.
pub async fn set_retention(
    State(state): State<SharedState>,
    TenantCaller { caller, tenant, .. }: TenantCaller,
    ApiJson(body): ApiJson<Retention>,
) -> Result<Json<Tenant>, ApiError> {
    let days = body.decision_retention_days;
    if let Some(days) = days.filter(|days| !(1..=retention::MAX_RETENTION_DAYS).contains(days)) {
        return Err(ApiError::Unprocessable(format!(
            "decision_retention_days must be between 1 and {} (or null to keep forever), not {days}",
            retention::MAX_RETENTION_DAYS
        )));
    }
    state.store.set_decision_retention(&tenant, days, &Audit { actor: caller.actor(), at: now_millis() }).await?;
    find_tenant(&state, &tenant).await.map(Json)
}

/// Deletes the tenant's decision records older than its retention, now (a job does it
/// periodically too).
pub async fn purge(
    State(state): State<SharedState>,
    TenantCaller { tenant, .. }: TenantCaller,
) -> Result<Json<retention::Purge>, ApiError> {
    let found = find_tenant(&state, &tenant).await?;
    Ok(Json(retention::purge_tenant(&state, &found).await?))
}

async fn find_tenant(state: &SharedState, tenant: &str) -> Result<Tenant, ApiError> {
    state.store.get_tenant(tenant).await?.ok_or_else(|| ApiError::NotFound(format!("no tenant {tenant}")))
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
