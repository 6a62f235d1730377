//! Shadow mode: mark a candidate version to run beside the active one on every live evaluation
//! (recorded, never applied), clear it, and see how often it disagreed.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    error::ApiError,
    extract::{ApiJson, Bearer},
    modules::parse_kind,
    realms::find_realm,
};
use crate::service::{
    SharedState,
    access::{self, Need},
    now_millis,
};
use muster_store::{Audit, model::Realm};

/// `PUT …/modules/{kind}/shadow` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowVersion {
    /// The candidate version to run in shadow.
    version: i64,
}

/// Runs `version` in shadow beside the active version of `kind`; answers the realm.
pub async fn set(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, kind)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<ShadowVersion>,
) -> Result<Json<Realm>, ApiError> {
    change(&state, token.as_deref(), &tenant, &realm, &kind, Some(body.version)).await
}

/// Stops running a shadow version of `kind`; answers the realm.
pub async fn clear(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, kind)): Path<(String, String, String)>,
) -> Result<Json<Realm>, ApiError> {
    change(&state, token.as_deref(), &tenant, &realm, &kind, None).await
}

async fn change(
    state: &SharedState,
    token: Option<&str>,
    tenant: &str,
    realm: &str,
    kind: &str,
    version: Option<i64>,
) -> Result<Json<Realm>, ApiError> {
    let caller = access::tenant_caller(state, token, tenant, Need::Admin).await?;
    let kind = parse_kind(kind)?;
    find_realm(state, tenant, realm).await?;
    state.store.set_shadow(tenant, realm, kind, version, &Audit { actor: caller.actor(), at: now_millis() }).await?;
    find_realm(state, tenant, realm).await.map(Json)
}

/// The realm's shadow versions and, per candidate version pair recorded, how many shadow
/// evaluations ran and how many differed from the live decision. The differing decisions
/// themselves are listed by `GET …/decisions?realm=…&shadow=true&differs=true`.
pub async fn summary(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let found = find_realm(&state, &tenant, &realm).await?;
    let results = state.store.shadow_summary(&tenant, &realm).await?;
    Ok(Json(json!({
        "shadow": { "user_rules": found.shadow_user_rules_version, "group_rules": found.shadow_group_rules_version },
        "results": results,
    })))
}
