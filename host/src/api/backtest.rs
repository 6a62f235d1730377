//! `POST …/versions/{v}/backtest`: a candidate version over the realm's past decisions in a
//! time window, newest first, page by page ([`preview::backtest`]).

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
    preview::{self, Backtest, DecisionWindow},
};
use muster_store::model::Millis;

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
    /// A draft's settings: the candidate is the version's module with these instead of its own.
    settings: Option<Value>,
}

/// Re-runs a page of the realm's applied decisions with the candidate version (or a draft of
/// it).
pub async fn backtest(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    Path((_, _, kind, version)): Path<(String, String, String, String)>,
    OptionalJson(window): OptionalJson<Window>,
) -> Result<Json<Backtest>, ApiError> {
    let kind = parse_kind(&kind)?;
    let version = parse_version(&version)?;
    let settings = window.settings;
    let window = DecisionWindow {
        since: window.since,
        until: window.until,
        before: window.before,
        limit: page_limit(window.limit)?,
    };
    let drafts = drafts::of_candidate(&state, &realm, kind, version, settings).await?;
    Ok(Json(preview::backtest(&state, &realm, kind, version, &drafts, window).await?))
}
