//! How each realm's SCIM endpoint is used (the `scim_activity` table): kept by the audit log's
//! append of `scim.request` entries, one per authenticated SCIM request, so a realm's SCIM status
//! is one row to read rather than a scan of the log.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use sqlx::AnyConnection;

use super::{Result, Store, model::Millis, rows};

/// The audit action of a SCIM request (`details`: `realm_id`, `method`, `path`, `status`, and
/// `error` for an error's detail).
pub const SCIM_REQUEST: &str = "scim.request";

/// One SCIM request, as its audit entry records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScimRequestSummary {
    /// When it was answered.
    pub at: Millis,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path it asked for.
    pub path: String,
    /// The HTTP status of the answer.
    pub status: i64,
    /// For an error, the SCIM error's detail.
    pub detail: Option<String>,
}

impl ScimRequestSummary {
    /// Whether it was answered with an error (status 400 or above).
    fn failed(&self) -> bool {
        self.status >= 400
    }
}

/// A realm's SCIM requests so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScimActivity {
    /// Authenticated SCIM requests answered.
    pub requests: i64,
    /// Of those, how many were answered with an error.
    pub errors: i64,
    /// The latest request.
    pub last_request: ScimRequestSummary,
    /// The latest request answered with an error, if any.
    pub last_error: Option<ScimRequestSummary>,
}

/// What a batch of audit events adds to one realm's activity.
#[derive(Default)]
struct Tally {
    requests: i64,
    errors: i64,
    last_request: Option<ScimRequestSummary>,
    last_error: Option<ScimRequestSummary>,
}

/// Adds the `scim.request` entries among the audit entries being appended (time, action,
/// details; in this order, in the caller's transaction) to their realms' activity: one upsert
/// per realm.
pub(super) async fn count<'a>(
    conn: &mut AnyConnection,
    tenant: &str,
    entries: impl Iterator<Item = (Millis, &'a str, &'a Value)>,
) -> Result<()> {
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for (at, _, details) in entries.filter(|(_, action, _)| *action == SCIM_REQUEST) {
        let Some(realm) = details["realm_id"].as_str() else { continue };
        let request = summary(at, details);
        let tally = tallies.entry(realm).or_default();
        tally.requests += 1;
        if request.failed() {
            tally.errors += 1;
            tally.last_error = Some(request.clone());
        }
        tally.last_request = Some(request);
    }
    for (realm, tally) in tallies {
        let Some(last) = tally.last_request else { continue };
        let error = tally.last_error;
        sqlx::query(
            "INSERT INTO scim_activity (tenant_id, realm_id, requests, errors, last_at, last_method, last_path, \
             last_status, last_detail, last_error_at, last_error_method, last_error_path, last_error_status, \
             last_error_detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (tenant_id, realm_id) DO UPDATE SET \
             requests = scim_activity.requests + excluded.requests, \
             errors = scim_activity.errors + excluded.errors, \
             last_at = excluded.last_at, last_method = excluded.last_method, last_path = excluded.last_path, \
             last_status = excluded.last_status, last_detail = excluded.last_detail, \
             last_error_at = COALESCE(excluded.last_error_at, scim_activity.last_error_at), \
             last_error_method = COALESCE(excluded.last_error_method, scim_activity.last_error_method), \
             last_error_path = COALESCE(excluded.last_error_path, scim_activity.last_error_path), \
             last_error_status = COALESCE(excluded.last_error_status, scim_activity.last_error_status), \
             last_error_detail = CASE WHEN excluded.last_error_at IS NULL THEN scim_activity.last_error_detail \
             ELSE excluded.last_error_detail END",
        )
        .bind(tenant)
        .bind(realm)
        .bind(tally.requests)
        .bind(tally.errors)
        .bind(last.at)
        .bind(last.method)
        .bind(last.path)
        .bind(last.status)
        .bind(last.detail)
        .bind(error.as_ref().map(|e| e.at))
        .bind(error.as_ref().map(|e| e.method.clone()))
        .bind(error.as_ref().map(|e| e.path.clone()))
        .bind(error.as_ref().map(|e| e.status))
        .bind(error.and_then(|e| e.detail))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The request a `scim.request` entry's details describe.
fn summary(at: Millis, details: &Value) -> ScimRequestSummary {
    let text = |name: &str| details[name].as_str().unwrap_or_default().to_owned();
    ScimRequestSummary {
        at,
        method: text("method"),
        path: text("path"),
        status: details["status"].as_i64().unwrap_or_default(),
        detail: details["error"].as_str().map(str::to_owned),
    }
}

impl Store {
    /// The realm's SCIM requests so far; `None` before its first.
    pub async fn scim_activity(&self, tenant: &str, realm: &str) -> Result<Option<ScimActivity>> {
        let Some(row) = sqlx::query(
            "SELECT requests, errors, last_at, last_method, last_path, last_status, last_detail, last_error_at, \
             last_error_method, last_error_path, last_error_status, last_error_detail \
             FROM scim_activity WHERE tenant_id = $1 AND realm_id = $2",
        )
        .bind(tenant)
        .bind(realm)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let last_error = match rows::get::<Option<i64>>(&row, "last_error_at")? {
            Some(at) => Some(ScimRequestSummary {
                at,
                method: rows::get::<Option<String>>(&row, "last_error_method")?.unwrap_or_default(),
                path: rows::get::<Option<String>>(&row, "last_error_path")?.unwrap_or_default(),
                status: rows::get::<Option<i64>>(&row, "last_error_status")?.unwrap_or_default(),
                detail: rows::get(&row, "last_error_detail")?,
            }),
            None => None,
        };
        Ok(Some(ScimActivity {
            requests: rows::get(&row, "requests")?,
            errors: rows::get(&row, "errors")?,
            last_request: ScimRequestSummary {
                at: rows::get(&row, "last_at")?,
                method: rows::get(&row, "last_method")?,
                path: rows::get(&row, "last_path")?,
                status: rows::get(&row, "last_status")?,
                detail: rows::get(&row, "last_detail")?,
            },
            last_error,
        }))
    }
}
