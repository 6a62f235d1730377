//! Shadow mode: mark a candidate version to run beside the active one on every live evaluation
//! (recorded, never applied), clear it, and see how often it disagreed.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{caller::RealmCaller, error::ApiError, extract::ApiJson, modules::parse_kind, realms::reload};
use crate::service::{SharedState, access::Caller, now_millis};
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
    RealmCaller { caller, realm, .. }: RealmCaller,
    Path((_, _, kind)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<ShadowVersion>,
) -> Result<Json<Realm>, ApiError> {
    change(&state, &caller, &realm, &kind, Some(body.version)).await
}

/// Stops running a shadow version of `kind`; answers the realm.
pub async fn clear(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    Path((_, _, kind)): Path<(String, String, String)>,
) -> Result<Json<Realm>, ApiError> {
    change(&state, &caller, &realm, &kind, None).await
}

async fn change(
    state: &SharedState,
    caller: &Caller,
    realm: &Realm,
    kind: &str,
    version: Option<i64>,
) -> Result<Json<Realm>, ApiError> {
    let kind = parse_kind(kind)?;
    let audit = Audit { actor: caller.actor(), at: now_millis() };
    state.store.set_shadow(&realm.tenant_id, &realm.id, kind, version, &audit).await?;
    reload(state, realm).await.map(Json)
}

/// The realm's shadow versions and, per candidate version pair recorded, how many shadow
/// evaluations ran and how many differed from the live decision. The differing decisions
/// themselves are listed by `GET …/decisions?realm=…&shadow=true&differs=true`.
pub async fn summary(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
) -> Result<Json<Value>, ApiError> {
    let results = state.store.shadow_summary(&realm.tenant_id, &realm.id).await?;
    Ok(Json(json!({
        "shadow": { "user_rules": realm.shadow_user_rules_version, "group_rules": realm.shadow_group_rules_version },
        "results": results,
    })))
}
