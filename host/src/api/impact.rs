//! `POST …/versions/{v}/impact`: the impact preview of a candidate version, page by page
//! ([`preview::impact`]).

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    audit::page_limit,
    caller::RealmCaller,
    error::ApiError,
    extract::OptionalJson,
    modules::{parse_kind, parse_version},
};
use crate::service::{
    SharedState, drafts,
    preview::{self, Impact, UserPage},
};

/// `POST …/versions/{v}/impact` body: which page of users.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Continue after this user id (the `next_after` of the previous page).
    after: Option<String>,
    /// Users per page, 1–1000 (default 100).
    limit: Option<i64>,
    /// A draft's settings: the candidate is the version's module with these instead of its own.
    settings: Option<Value>,
}

/// Evaluates the candidate (a version, or a draft of it) and the active versions on a page of
/// stored users; changes nothing.
pub async fn impact(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    Path((_, _, kind, version)): Path<(String, String, String, String)>,
    OptionalJson(page): OptionalJson<Page>,
) -> Result<Json<Impact>, ApiError> {
    let kind = parse_kind(&kind)?;
    let version = parse_version(&version)?;
    let settings = page.settings;
    let page = UserPage { after: page.after, limit: page_limit(page.limit)? };
    let drafts = drafts::of_candidate(&state, &realm, kind, version, settings).await?;
    Ok(Json(preview::impact(&state, &realm, kind, version, &drafts, page).await?))
}
