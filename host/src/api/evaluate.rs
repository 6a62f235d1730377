//! The evaluation API: logins (applied) and the test panel (dry runs, which change nothing).

use axum::{
    Json,
    extract::{Path, State},
};
use muster_wire::User;
use serde::Deserialize;
use serde_json::Value;

use super::{
    caller::{Evaluation, RealmCaller},
    error::ApiError,
    extract::{ApiJson, OptionalJson},
};
use crate::service::{
    SharedState,
    decide::Decider,
    draft_set::Drafts,
    drafts::{self, DraftSettings},
    login::{self, LoginClaims, LoginResult},
    preview::{self, DryRun},
    rules::Selection,
};
use muster_store::model::Realm;

/// `POST …/login`: runs the realm's rules for the user the identity provider just
/// authenticated, applies the decision and returns it with its trace.
pub async fn login(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller<Evaluation>,
    ApiJson(claims): ApiJson<LoginClaims>,
) -> Result<Json<LoginResult>, ApiError> {
    Ok(Json(login::login(&Decider::live(&state), &realm, claims, &caller.actor()).await?))
}

/// Which versions a dry run uses (an absent field means the realm's active version), and the
/// settings of a draft of each (absent or `null`: the version as stored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Versions {
    #[serde(default, deserialize_with = "explicit")]
    user_rules_version: Option<Option<i64>>,
    #[serde(default, deserialize_with = "explicit")]
    group_rules_version: Option<Option<i64>>,
    #[serde(default)]
    user_rules_settings: Option<Value>,
    #[serde(default)]
    group_rules_settings: Option<Value>,
}

fn explicit<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(deserializer).map(Some)
}

impl Versions {
    /// The selected versions, and the drafts prepared of them.
    async fn rules(self, state: &SharedState, realm: &Realm) -> Result<(Selection, Drafts), ApiError> {
        let active = Selection::active(realm);
        let selection = Selection {
            user_rules: self.user_rules_version.unwrap_or(active.user_rules),
            group_rules: self.group_rules_version.unwrap_or(active.group_rules),
        };
        let settings = DraftSettings { user_rules: self.user_rules_settings, group_rules: self.group_rules_settings };
        let drafts = drafts::prepare_selected(state, realm, selection, settings).await?;
        Ok((selection, drafts))
    }
}

/// `POST …/dry-run` body: an ad-hoc user (who may never have logged in).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdHoc {
    /// An object, as in the document: never the fields of `User` as an array.
    #[serde(deserialize_with = "super::extract::object")]
    user: User,
    #[serde(flatten)]
    versions: Versions,
}

/// Evaluates the realm's rules (active or candidate versions, or drafts of them) on a posted
/// user; changes nothing.
pub async fn dry_run_ad_hoc(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    ApiJson(body): ApiJson<AdHoc>,
) -> Result<Json<DryRun>, ApiError> {
    let (selection, drafts) = body.versions.rules(&state, &realm).await?;
    Ok(Json(preview::dry_run(&state, &realm, selection, &drafts, &body.user).await?))
}

/// Evaluates the realm's rules (active or candidate versions, or drafts of them) on a stored
/// user, as of their last login or SCIM update; changes nothing.
pub async fn dry_run_user(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    Path((_, _, user)): Path<(String, String, String)>,
    OptionalJson(versions): OptionalJson<Versions>,
) -> Result<Json<DryRun>, ApiError> {
    let (selection, drafts) = versions.rules(&state, &realm).await?;
    Ok(Json(preview::dry_run_stored_user(&state, &realm, selection, &drafts, &user).await?))
}
