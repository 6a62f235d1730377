//! Decision records: listing, and replay of a recorded input on the recorded module (which must
//! give the recorded output bit for bit) or on a candidate version (which shows the difference).

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    audit::page_limit,
    caller::TenantCaller,
    error::ApiError,
    extract::{ApiQuery, OptionalJson},
};
use crate::service::{
    SharedState,
    preview::{self, Replay},
    rules::Selection,
};
use muster_store::{DecisionFilter, model::DecisionRecord};
use muster_wire::Trigger;

/// Query parameters of `GET …/decisions`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionQuery {
    realm: Option<String>,
    user: Option<String>,
    /// One of the triggers (`login`, `scim_create`, …): anything else is refused, not an empty page.
    #[serde(default, deserialize_with = "known_trigger")]
    trigger: Option<String>,
    shadow: Option<bool>,
    applied: Option<bool>,
    differs: Option<bool>,
    /// Only decisions whose rules failed (`true`), or only those made (`false`).
    failed: Option<bool>,
    since: Option<i64>,
    until: Option<i64>,
    /// Continue after this decision id (the `next_before` of the previous page).
    before: Option<String>,
    limit: Option<i64>,
}

/// A trigger's name, checked against the triggers there are.
fn known_trigger<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let name = Option::<String>::deserialize(deserializer)?;
    if let Some(name) = &name {
        Trigger::deserialize(serde::de::value::StrDeserializer::<D::Error>::new(name))?;
    }
    Ok(name)
}

/// Lists decision records, newest first.
pub async fn list(
    State(state): State<SharedState>,
    TenantCaller { tenant, .. }: TenantCaller,
    ApiQuery(query): ApiQuery<DecisionQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(query.limit)?;
    let decisions = state
        .store
        .list_decisions(DecisionFilter {
            tenant_id: tenant,
            realm_id: query.realm,
            user_id: query.user,
            trigger: query.trigger,
            shadow: query.shadow,
            applied: query.applied,
            differs: query.differs,
            failed: query.failed,
            since: query.since,
            until: query.until,
            before_id: query.before,
            limit,
        })
        .await?;
    let next_before = (decisions.len() as i64 == limit).then(|| decisions.last().map(|d| d.id.clone())).flatten();
    Ok(Json(json!({ "decisions": decisions, "next_before": next_before })))
}

/// Shows one decision record.
pub async fn get(
    State(state): State<SharedState>,
    TenantCaller { tenant, .. }: TenantCaller,
    Path((_, decision)): Path<(String, String)>,
) -> Result<Json<DecisionRecord>, ApiError> {
    find_decision(&state, &tenant, &decision).await.map(Json)
}

/// `POST …/replay` body: replay on candidate versions instead of the recorded ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayWith {
    user_rules_version: Option<i64>,
    group_rules_version: Option<i64>,
}

/// Re-runs the recorded input ([`preview::replay`]): without a body on the recorded versions,
/// with one on the candidate versions it names.
pub async fn replay(
    State(state): State<SharedState>,
    TenantCaller { tenant, .. }: TenantCaller,
    Path((_, decision)): Path<(String, String)>,
    OptionalJson(candidate): OptionalJson<ReplayWith>,
) -> Result<Json<Replay>, ApiError> {
    let candidate = Selection { user_rules: candidate.user_rules_version, group_rules: candidate.group_rules_version };
    Ok(Json(preview::replay(&state, &tenant, &decision, candidate).await?))
}

async fn find_decision(state: &SharedState, tenant: &str, decision: &str) -> Result<DecisionRecord, ApiError> {
    state
        .store
        .get_decision(tenant, decision)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no decision {decision}")))
}
