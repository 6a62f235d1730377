//! The SCIM answer to each service failure (RFC 7644 §3.12): the one place SCIM statuses and
//! `scimType`s are chosen for what the service reports.

use axum::http::StatusCode;
use muster_scim::error::{ScimError, ScimType};
use muster_store::StoreError;

use crate::service::{compiles::BusyScope, error::ServiceError};

impl From<ServiceError> for ScimError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Unauthenticated(detail) => ScimError::unauthorized(detail),
            limited @ ServiceError::RateLimited { .. } => {
                ScimError { status: StatusCode::TOO_MANY_REQUESTS, scim_type: None, detail: limited.to_string() }
            }
            ServiceError::Forbidden(detail) => ScimError { status: StatusCode::FORBIDDEN, scim_type: None, detail },
            ServiceError::NotFound(detail) => ScimError::not_found(detail),
            ServiceError::Conflict(detail) => ScimError::uniqueness(detail),
            ServiceError::VersionMismatch { what, expected, actual } => {
                ScimError::precondition_failed(format!("{what} is at version W/\"{actual}\", not W/\"{expected}\""))
            }
            ServiceError::Malformed(detail) => ScimError::bad_request(ScimType::InvalidSyntax, detail),
            ServiceError::InvalidValue(detail) => ScimError::bad_request(ScimType::InvalidValue, detail),
            ServiceError::InvalidSettings(refusal) => {
                ScimError::bad_request(ScimType::InvalidValue, refusal.to_string())
            }
            ServiceError::Patch(patch) => patch.into(),
            ServiceError::RulesFailed { error, decision_id } => ScimError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                scim_type: None,
                detail: match decision_id {
                    Some(id) => format!(
                        "the realm's rules failed on this user, so the change was not applied (decision {id}): {error}"
                    ),
                    None => format!("the realm's rules failed on this user, so the change was not applied: {error}"),
                },
            },
            // No SCIM write stores a module; a quota is still a conflict, not our fault.
            ServiceError::QuotaExceeded(quota) => {
                ScimError { status: StatusCode::CONFLICT, scim_type: None, detail: quota.to_string() }
            }
            ServiceError::Busy { scope, message, .. } => {
                let status = match scope {
                    BusyScope::Tenant => StatusCode::TOO_MANY_REQUESTS,
                    BusyScope::Server => StatusCode::SERVICE_UNAVAILABLE,
                };
                ScimError { status, scim_type: None, detail: message }
            }
            ServiceError::Internal(detail) => ScimError::internal(detail),
        }
    }
}

/// A store failure of a SCIM read, answered as the service would report it.
pub fn store_failure(error: StoreError) -> ScimError {
    ServiceError::from(error).into()
}
