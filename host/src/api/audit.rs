//! The tenant's append-only audit log, filtered and paginated.

use axum::{Json, extract::State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{caller::TenantCaller, error::ApiError, extract::ApiQuery};
use crate::service::SharedState;
use muster_store::AuditFilter;

/// Query parameters of `GET …/audit`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// An action (`module.activated`) or a prefix ending in a dot (`module.`).
    action: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    /// Return events after this sequence number (the `next_after` of the previous page).
    after: Option<i64>,
    limit: Option<i64>,
}

/// Lists audit events in order; `next_after` continues the listing.
pub async fn list(
    State(state): State<SharedState>,
    TenantCaller { tenant, .. }: TenantCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(query.limit)?;
    let events = state
        .store
        .list_audit(AuditFilter {
            tenant_id: tenant,
            action: query.action,
            actor: query.actor,
            target: query.target,
            since: query.since,
            until: query.until,
            after_seq: query.after,
            limit,
        })
        .await?;
    let next_after = (events.len() as i64 == limit).then(|| events.last().map(|e| e.seq)).flatten();
    Ok(Json(json!({ "events": events, "next_after": next_after })))
}

/// A page size between 1 and 1000 (default 100).
pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit.unwrap_or(100) {
        limit @ 1..=1000 => Ok(limit),
        other => Err(ApiError::BadRequest(format!("limit {other} must be between 1 and 1000"))),
    }
}
