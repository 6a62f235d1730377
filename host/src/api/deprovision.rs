//! Deprovisioning through the admin API: deactivate, reactivate and delete one user, or
//! deactivate many from a CSV file of userNames or externalIds with a per-row report. The same
//! operations SCIM performs (`docs/scim.md`), audited the same way.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, header},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{caller::RealmCaller, error::ApiError, extract::OptionalJson};
use crate::service::{SharedState, provisioning::user_changes};
use muster_store::{
    Deactivation,
    model::{Realm, UserRecord},
};

/// `POST …/users/{user}/deactivate` and `…/reactivate` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why, for the audit log (and, deactivating, the revoked sessions).
    reason: Option<String>,
}

/// Deactivates a user at once: blocked, out of every group, sessions revoked, each step
/// audited. Deactivating a deactivated user changes nothing (`"changed": false`).
pub async fn deactivate(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    Path((_, _, user)): Path<(String, String, String)>,
    OptionalJson(body): OptionalJson<Reason>,
) -> Result<Json<Value>, ApiError> {
    let reason = body.reason.unwrap_or_else(|| "deactivated by an administrator".into());
    let done = user_changes::deactivate(&state, &realm, &user, &reason, &caller.actor()).await?;
    Ok(Json(deactivation_answer(done)))
}

fn deactivation_answer(done: Option<Deactivation>) -> Value {
    match done {
        Some(done) => json!({ "changed": true, "deactivation": done }),
        None => json!({ "changed": false }),
    }
}

/// Reactivates a user: suspended memberships count again, and the rules run and apply. A
/// reason given is audited (`user.reactivation_reason`) with the reactivation.
pub async fn reactivate(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    Path((_, _, user)): Path<(String, String, String)>,
    OptionalJson(body): OptionalJson<Reason>,
) -> Result<Json<UserRecord>, ApiError> {
    let reason = body.reason.as_deref();
    Ok(Json(user_changes::reactivate(&state, &realm, &user, reason, &caller.actor()).await?))
}

/// Deletes a user for good (memberships and sessions too; decision records stay), audited.
pub async fn delete(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    Path((_, _, user)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    user_changes::delete(&state, &realm, &user, &caller.actor()).await?;
    Ok(Json(json!({ "deleted": user })))
}

/// One row of a bulk deprovisioning report.
#[derive(Debug, Serialize)]
pub struct Row {
    /// 1-based line of the file.
    line: u64,
    /// The value on it.
    value: String,
    /// `deactivated`, `already_deactivated`, `not_found` or `error`.
    outcome: &'static str,
    /// The user it named.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Which column a bulk file names users by.
#[derive(Clone, Copy)]
enum Column {
    UserName,
    ExternalId,
    Either,
}

/// `POST …/realms/{r}/deprovision` with a `text/csv` body: one userName or externalId per
/// line, optionally under a header `userName` or `externalId`. Each row is deactivated on its
/// own; the answer reports every row.
pub async fn bulk(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("text/csv") {
        return Err(ApiError::UnsupportedMediaType(
            "send the file as text/csv: one userName or externalId per line".into(),
        ));
    }
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(&body[..]);
    let mut column = Column::Either;
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ApiError::BadRequest(format!("the CSV file cannot be read: {e}")))?;
        let line = record.position().map_or(index as u64 + 1, |p| p.line());
        let Some(value) = record.get(0).filter(|v| !v.is_empty()) else { continue };
        if index == 0 {
            if value.eq_ignore_ascii_case("userName") {
                column = Column::UserName;
                continue;
            }
            if value.eq_ignore_ascii_case("externalId") {
                column = Column::ExternalId;
                continue;
            }
        }
        rows.push(deprovision_row(&state, &realm, column, line, value, &caller.actor()).await);
    }
    let count = |outcome: &str| rows.iter().filter(|row| row.outcome == outcome).count();
    Ok(Json(json!({
        "deactivated": count("deactivated"),
        "already_deactivated": count("already_deactivated"),
        "not_found": count("not_found"),
        "errors": count("error"),
        "rows": rows,
    })))
}

async fn deprovision_row(
    state: &SharedState,
    realm: &Realm,
    column: Column,
    line: u64,
    value: &str,
    actor: &str,
) -> Row {
    let row = |outcome, user_id: Option<String>, error: Option<String>| Row {
        line,
        value: value.to_owned(),
        outcome,
        user_id,
        error,
    };
    let found = match find_user(state, realm, column, value).await {
        Ok(Some(user)) => user,
        Ok(None) => return row("not_found", None, None),
        Err(error) => return row("error", None, Some(error.to_string())),
    };
    match user_changes::deactivate(state, realm, &found.id, "bulk deprovisioning file", actor).await {
        Ok(Some(_)) => row("deactivated", Some(found.id), None),
        Ok(None) => row("already_deactivated", Some(found.id), None),
        Err(error) => row("error", Some(found.id), Some(error.to_string())),
    }
}

async fn find_user(
    state: &SharedState,
    realm: &Realm,
    column: Column,
    value: &str,
) -> Result<Option<UserRecord>, ApiError> {
    let store = &state.store;
    let (tenant, realm) = (&realm.tenant_id, &realm.id);
    Ok(match column {
        Column::UserName => store.find_user_by_name(tenant, realm, value).await?,
        Column::ExternalId => store.find_user_by_external_id(tenant, realm, value).await?,
        Column::Either => match store.find_user_by_external_id(tenant, realm, value).await? {
            Some(user) => Some(user),
            None => store.find_user_by_name(tenant, realm, value).await?,
        },
    })
}
