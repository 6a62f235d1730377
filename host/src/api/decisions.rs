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
    error::ApiError,
    evaluate::evaluation_failure,
    extract::{ApiQuery, Bearer, OptionalJson},
    realms::find_realm,
};
use crate::decision::{
    input::CanonicalInput,
    outcome::{DecisionOutput, DecisionTrace},
};
use crate::service::{
    SharedState,
    access::{self, Need},
    rules::Selection,
};
use muster_store::{DecisionFilter, model::DecisionRecord};

/// Query parameters of `GET …/decisions`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionQuery {
    realm: Option<String>,
    user: Option<String>,
    trigger: Option<String>,
    shadow: Option<bool>,
    applied: Option<bool>,
    differs: Option<bool>,
    since: Option<i64>,
    until: Option<i64>,
    /// Continue after this decision id (the `next_before` of the previous page).
    before: Option<String>,
    limit: Option<i64>,
}

/// Lists decision records, newest first.
pub async fn list(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<DecisionQuery>,
) -> Result<Json<Value>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
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
    Bearer(token): Bearer,
    Path((tenant, decision)): Path<(String, String)>,
) -> Result<Json<DecisionRecord>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    find_decision(&state, &tenant, &decision).await.map(Json)
}

/// `POST …/replay` body: replay on candidate versions instead of the recorded ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayWith {
    user_rules_version: Option<i64>,
    group_rules_version: Option<i64>,
}

/// Re-runs the recorded input. Without a body, on the recorded versions: `identical` must be
/// `true` (evaluation is deterministic). With candidate versions: `identical` says whether the
/// candidate would have decided the same.
pub async fn replay(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, decision)): Path<(String, String)>,
    OptionalJson(candidate): OptionalJson<ReplayWith>,
) -> Result<Json<Value>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let record = find_decision(&state, &tenant, &decision).await?;
    let realm = find_realm(&state, &tenant, &record.realm_id).await?;
    let input: CanonicalInput = serde_json::from_str(&record.input).map_err(ApiError::internal)?;
    let selection = Selection {
        user_rules: candidate.user_rules_version.or(record.user_rules_version),
        group_rules: candidate.group_rules_version.or(record.group_rules_version),
    };
    let outcome = state
        .rules
        .evaluate(&state.store, &realm, selection, &input.context, &input.user)
        .await
        .map_err(evaluation_failure)?;
    let recorded_output: DecisionOutput = serde_json::from_str(&record.output).map_err(ApiError::internal)?;
    let recorded_trace: DecisionTrace = serde_json::from_str(&record.trace).map_err(ApiError::internal)?;
    let output = DecisionOutput::of(&outcome);
    let trace = DecisionTrace::of(&outcome);
    Ok(Json(json!({
        "decision_id": record.id,
        "versions": { "user_rules": selection.user_rules, "group_rules": selection.group_rules },
        "identical": output == recorded_output && trace == recorded_trace,
        "output_identical": output == recorded_output,
        "recorded": { "output": recorded_output, "trace": recorded_trace },
        "replayed": { "output": output, "trace": trace },
    })))
}

async fn find_decision(state: &SharedState, tenant: &str, decision: &str) -> Result<DecisionRecord, ApiError> {
    state
        .store
        .get_decision(tenant, decision)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no decision {decision}")))
}
