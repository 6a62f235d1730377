//! The evaluation API: logins (applied) and the test panel (dry runs, which change nothing).

use axum::{
    Json,
    extract::{Path, State},
};
use muster_wire::{Context, Trigger, User};
use serde::{Deserialize, Serialize};

use super::{
    error::ApiError,
    extract::{ApiJson, Bearer, OptionalJson},
    realms::find_realm,
};
use crate::decision::{input::rules_input, outcome::RealmOutcome};
use crate::service::{
    SharedState,
    access::{self, Need},
    login::{self, LoginClaims, LoginResult},
    rules::{RulesError, Selection},
};
use muster_store::{
    ProviderGroupMark,
    model::{Realm, UserRecord},
};

/// `POST …/login`: runs the realm's rules for the user the identity provider just
/// authenticated, applies the decision and returns it with its trace.
pub async fn login(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm)): Path<(String, String)>,
    ApiJson(claims): ApiJson<LoginClaims>,
) -> Result<Json<LoginResult>, ApiError> {
    let caller = access::tenant_caller(&state, token.as_deref(), &tenant, Need::Evaluation).await?;
    let realm = find_realm(&state, &tenant, &realm).await?;
    Ok(Json(login::login(&state, &realm, claims, &caller.actor()).await?))
}

/// Which versions a dry run uses; an absent field means the realm's active version.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Versions {
    #[serde(default, deserialize_with = "explicit")]
    user_rules_version: Option<Option<i64>>,
    #[serde(default, deserialize_with = "explicit")]
    group_rules_version: Option<Option<i64>>,
}

fn explicit<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(deserializer).map(Some)
}

impl Versions {
    fn selection(&self, realm: &Realm) -> Selection {
        let active = Selection::active(realm);
        Selection {
            user_rules: self.user_rules_version.unwrap_or(active.user_rules),
            group_rules: self.group_rules_version.unwrap_or(active.group_rules),
        }
    }
}

/// `POST …/dry-run` body: an ad-hoc user (who may never have logged in).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdHoc {
    user: User,
    #[serde(flatten)]
    versions: Versions,
}

/// What a dry run answers.
#[derive(Serialize)]
pub struct DryRun {
    /// Whether the user would be blocked.
    blocked: bool,
    /// Each provider group with the organizations it would be marked with.
    provider_groups: Vec<ProviderGroupMark>,
    /// The full outcome with traces.
    evaluation: RealmOutcome,
}

/// Evaluates the realm's rules (active or candidate versions) on a posted user; changes nothing.
pub async fn dry_run_ad_hoc(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm)): Path<(String, String)>,
    ApiJson(body): ApiJson<AdHoc>,
) -> Result<Json<DryRun>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let realm = find_realm(&state, &tenant, &realm).await?;
    dry_run(&state, &realm, &body.versions, &body.user).await.map(Json)
}

/// Evaluates the realm's rules (active or candidate versions) on a stored user, as of their
/// last login or SCIM update; changes nothing.
pub async fn dry_run_user(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, user)): Path<(String, String, String)>,
    OptionalJson(versions): OptionalJson<Versions>,
) -> Result<Json<DryRun>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let realm = find_realm(&state, &tenant, &realm).await?;
    let user = rules_input(&find_user(&state, &realm, &user).await?);
    dry_run(&state, &realm, &versions, &user).await.map(Json)
}

/// Shows a stored user.
pub async fn get_user(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, user)): Path<(String, String, String)>,
) -> Result<Json<UserRecord>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let realm = find_realm(&state, &tenant, &realm).await?;
    find_user(&state, &realm, &user).await.map(Json)
}

async fn find_user(state: &SharedState, realm: &Realm, user: &str) -> Result<UserRecord, ApiError> {
    state
        .store
        .get_user(&realm.tenant_id, &realm.id, user)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {user} in realm {}", realm.id)))
}

async fn dry_run(state: &SharedState, realm: &Realm, versions: &Versions, user: &User) -> Result<DryRun, ApiError> {
    let context = Context { realm: realm.id.clone(), trigger: Trigger::DryRun };
    let evaluation = state
        .rules
        .evaluate(&state.store, realm, versions.selection(realm), &context, user)
        .await
        .map_err(evaluation_failure)?;
    Ok(DryRun { blocked: evaluation.blocked(), provider_groups: evaluation.provider_group_marks(), evaluation })
}

/// A rules failure as the API reports it: a missing version is 404, a failing module 422.
pub fn evaluation_failure(error: RulesError) -> ApiError {
    match error {
        RulesError::Store(store) => store.into(),
        missing @ RulesError::MissingVersion { .. } => ApiError::NotFound(missing.to_string()),
        other => ApiError::Unprocessable(format!("the realm's rules failed: {other}")),
    }
}
