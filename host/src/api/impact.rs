//! Impact preview: before activating a version, evaluate it against the realm's stored users and
//! report who would change organization or groups. Paginated, so large realms are previewed
//! page by page.

use axum::{
    Json,
    extract::{Path, State},
};
use muster_wire::{Context, Trigger, User};
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
    input::rules_input,
    outcome::{DecisionOutput, Effect},
};
use crate::service::{
    SharedState,
    access::{self, Need},
    rules::Selection,
};
use muster_store::model::{Realm, RuleKind};

/// `POST …/versions/{v}/impact` body: which page of users.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Continue after this user id (the `next_after` of the previous page).
    after: Option<String>,
    /// Users per page, 1–1000 (default 100).
    limit: Option<i64>,
}

/// A user whose decision the candidate would change.
#[derive(Serialize)]
pub struct Change {
    user_id: String,
    user_name: String,
    /// Under the realm's active versions.
    active: Effect,
    /// Under the candidate.
    candidate: Effect,
}

/// The preview of one page.
#[derive(Serialize)]
pub struct Impact {
    kind: RuleKind,
    version: i64,
    /// Users evaluated on this page.
    evaluated: usize,
    /// How many of them the candidate would change.
    changed: usize,
    /// The changes.
    changes: Vec<Change>,
    /// Continue with `{"after": next_after}`; `null` on the last page.
    next_after: Option<String>,
}

/// Evaluates the candidate and the active versions on a page of stored users; changes nothing.
pub async fn impact(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, kind, version)): Path<(String, String, String, String)>,
    OptionalJson(page): OptionalJson<Page>,
) -> Result<Json<Impact>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let kind = parse_kind(&kind)?;
    let version = parse_version(&version)?;
    let realm = find_realm(&state, &tenant, &realm).await?;
    let limit = page_limit(page.limit)?;
    let active = Selection::active(&realm);
    let candidate = Selection::candidate(&realm, kind, version);
    state.rules.version(&state.store, &tenant, &realm.id, kind, version).await.map_err(evaluation_failure)?;
    let users = state.store.list_users(&tenant, &realm.id, page.after.as_deref(), limit).await?;
    let next_after = (users.len() as i64 == limit).then(|| users.last().map(|u| u.id.clone())).flatten();
    let context = Context { realm: realm.id.clone(), trigger: Trigger::DryRun };
    let evaluated = users.len();
    let mut changes = Vec::new();
    for stored in users {
        let (user_id, user_name) = (stored.id.clone(), stored.user_name.clone());
        let input = rules_input(&stored);
        let active_side = side(&state, &realm, active, &context, &input).await?;
        let candidate_side = side(&state, &realm, candidate, &context, &input).await?;
        if active_side != candidate_side {
            changes.push(Change { user_id, user_name, active: active_side, candidate: candidate_side });
        }
    }
    Ok(Json(Impact { kind, version, evaluated, changed: changes.len(), changes, next_after }))
}

/// The decision of `selection` on one user.
async fn side(
    state: &SharedState,
    realm: &Realm,
    selection: Selection,
    context: &Context,
    input: &User,
) -> Result<Effect, ApiError> {
    let outcome =
        state.rules.evaluate(&state.store, realm, selection, context, input).await.map_err(evaluation_failure)?;
    Ok(Effect::of(DecisionOutput::of(&outcome)))
}
