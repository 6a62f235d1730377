//! Backtest: a candidate version over the realm's past decisions in a time window, reporting
//! which would have ended differently. Each recorded input runs again exactly as recorded
//! (same context, same user), with the candidate in place of the kind it replaces and the
//! recorded version of the other kind. Newest first, page by page; changes nothing.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::{Deserialize, Serialize};

use super::{
    audit::page_limit,
    error::ApiError,
    evaluate::evaluation_failure,
    extract::{Bearer, OptionalJson},
    modules::{parse_kind, parse_version},
    realms::find_realm,
};
use crate::decision::{
    input::CanonicalInput,
    outcome::{DecisionOutput, Effect},
};
use crate::service::{
    SharedState,
    access::{self, Need},
    rules::Selection,
};
use muster_store::{
    DecisionFilter,
    model::{DecisionRecord, Millis, Realm, RuleKind},
};

/// `POST …/versions/{v}/backtest` body: the window and the page.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Decisions made at or after this time (Unix ms).
    since: Option<Millis>,
    /// Decisions made before this time (Unix ms).
    until: Option<Millis>,
    /// Continue after (older than) this decision id: the `next_before` of the previous page.
    before: Option<String>,
    /// Decisions per page, 1–1000 (default 100).
    limit: Option<i64>,
}

/// A past decision the candidate would have made differently.
#[derive(Serialize)]
pub struct Change {
    decision_id: String,
    user_id: Option<String>,
    created_at: Millis,
    /// What the decision did.
    recorded: Effect,
    /// What the candidate would have done.
    candidate: Effect,
}

/// A past decision the candidate could not decide (it failed on that input).
#[derive(Serialize)]
pub struct Failure {
    decision_id: String,
    error: String,
}

/// One page of a backtest.
#[derive(Serialize)]
pub struct Backtest {
    kind: RuleKind,
    version: i64,
    /// Decisions re-run on this page.
    examined: usize,
    /// How many would have ended differently.
    changed: usize,
    /// How many the candidate failed on.
    failed: usize,
    /// The differences.
    changes: Vec<Change>,
    /// The failures.
    failures: Vec<Failure>,
    /// Continue with `{"before": next_before}`; `null` on the last page.
    next_before: Option<String>,
}

/// Re-runs a page of the realm's applied decisions with the candidate version.
pub async fn backtest(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, kind, version)): Path<(String, String, String, String)>,
    OptionalJson(window): OptionalJson<Window>,
) -> Result<Json<Backtest>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let kind = parse_kind(&kind)?;
    let version = parse_version(&version)?;
    let realm = find_realm(&state, &tenant, &realm).await?;
    let limit = page_limit(window.limit)?;
    state.rules.version(&state.store, &tenant, &realm.id, kind, version).await.map_err(evaluation_failure)?;
    let decisions = state
        .store
        .list_decisions(DecisionFilter {
            tenant_id: tenant,
            realm_id: Some(realm.id.clone()),
            shadow: Some(false),
            applied: Some(true),
            since: window.since,
            until: window.until,
            before_id: window.before,
            limit,
            ..DecisionFilter::default()
        })
        .await?;
    let next_before = (decisions.len() as i64 == limit).then(|| decisions.last().map(|d| d.id.clone())).flatten();
    let examined = decisions.len();
    let (mut changes, mut failures) = (Vec::new(), Vec::new());
    for record in decisions {
        match rerun(&state, &realm, kind, version, &record).await {
            Ok(Some((recorded, candidate))) => changes.push(Change {
                decision_id: record.id,
                user_id: record.user_id,
                created_at: record.created_at,
                recorded,
                candidate,
            }),
            Ok(None) => {}
            Err(error) => failures.push(Failure { decision_id: record.id, error: error.to_string() }),
        }
    }
    Ok(Json(Backtest {
        kind,
        version,
        examined,
        changed: changes.len(),
        failed: failures.len(),
        changes,
        failures,
        next_before,
    }))
}

/// The recorded and the candidate's effect of one decision, if they differ.
async fn rerun(
    state: &SharedState,
    realm: &Realm,
    kind: RuleKind,
    version: i64,
    record: &DecisionRecord,
) -> Result<Option<(Effect, Effect)>, ApiError> {
    let input: CanonicalInput = serde_json::from_str(&record.input).map_err(ApiError::internal)?;
    let recorded: DecisionOutput = serde_json::from_str(&record.output).map_err(ApiError::internal)?;
    let selection = match kind {
        RuleKind::User => Selection { user_rules: Some(version), group_rules: record.group_rules_version },
        RuleKind::Group => Selection { user_rules: record.user_rules_version, group_rules: Some(version) },
    };
    let outcome = state
        .rules
        .evaluate(&state.store, realm, selection, &input.context, &input.user)
        .await
        .map_err(evaluation_failure)?;
    let (recorded, candidate) = (Effect::of(recorded), Effect::of(DecisionOutput::of(&outcome)));
    Ok((recorded != candidate).then_some((recorded, candidate)))
}
