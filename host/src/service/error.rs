//! The one error type of the service layer: what went wrong, in the domain's words. Each
//! protocol edge maps it once, to its own status codes: the JSON API in `api/error.rs`, SCIM in
//! `api/scim/error.rs`.

use muster_scim::patch::PatchError;
use muster_store::{QuotaExceeded, StoreError};

use std::time::Duration;

use super::{
    compiles::{BusyScope, CompileError},
    rules::RulesError,
    settings_schema::NamedOrganization,
};

/// Why a service call did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No credentials, or credentials that are not valid (unknown, revoked, malformed).
    #[error("{0}")]
    Unauthenticated(String),
    /// The client has failed to authenticate, or asked for tokens, too often: it may try again
    /// after `retry_after`.
    #[error("{detail}; retry in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// What was refused.
        detail: String,
        /// How long the client must wait.
        retry_after: std::time::Duration,
    },
    /// Valid credentials that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (for this caller: another tenant's things do not exist for it).
    #[error("{0}")]
    NotFound(String),
    /// A unique name or id is already taken, or the request conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The stored thing is not at the version the caller expected (a concurrent write moved it
    /// on, or the caller's precondition names an older version).
    #[error("{what} is at version {actual}, not {expected}")]
    VersionMismatch {
        /// What was written (`user u_…`).
        what: String,
        /// The version the caller expected.
        expected: i64,
        /// The version stored.
        actual: i64,
    },
    /// The request is not the kind of document it must be (not a JSON object, say).
    #[error("{0}")]
    Malformed(String),
    /// A value is missing, has the wrong type, or is not allowed.
    #[error("{0}")]
    InvalidValue(String),
    /// A settings document that is refused, with the path of the problem in the author's own
    /// document.
    #[error(transparent)]
    InvalidSettings(SettingsRefusal),
    /// A SCIM PATCH that cannot be applied to the resource.
    #[error(transparent)]
    Patch(#[from] PatchError),
    /// The realm's rules failed on this user (the module trapped, ran out of budget, answered
    /// something invalid): nothing was applied, and retrying will not help until the rules
    /// change. A live decision's failure is recorded as the decision `decision_id`.
    #[error("the realm's rules failed: {error}")]
    RulesFailed {
        /// Why (boxed: it is the largest of the failures).
        error: Box<RulesError>,
        /// The record of the failure, if it was a live decision and is recorded.
        decision_id: Option<String>,
    },
    /// Storing it would exceed one of the tenant's quotas (module versions, module bytes,
    /// uploads per hour); nothing was stored.
    #[error(transparent)]
    QuotaExceeded(QuotaExceeded),
    /// Too much of this work is in flight, in the caller's tenant or on the whole server:
    /// nothing was done, and trying again after `retry_after` may succeed.
    #[error("{message}")]
    Busy {
        /// Whose share is used up.
        scope: BusyScope,
        /// What is busy.
        message: String,
        /// A fair time to wait before trying again.
        retry_after: Duration,
    },
    /// Our fault (the store failed, stored data is inconsistent); the detail is for the log.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a settings document was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("settings refused{}: {message}", if path.is_empty() { String::new() } else { format!(" at {path}") })]
pub struct SettingsRefusal {
    /// Where, in the author's own document (`rules[2].when.all[0].attribute.in`; empty for the
    /// document as a whole).
    pub path: String,
    /// What is wrong there.
    pub message: String,
    /// The organizations the document names that the tenant does not have, each with its path
    /// (empty unless that is why it was refused).
    pub unknown_organizations: Vec<NamedOrganization>,
}

impl ServiceError {
    /// A failure that is ours, from anything that can be shown.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        ServiceError::Internal(error.to_string())
    }

    /// A module that could not be loaded: `Busy` when compile slots stayed busy, the caller's
    /// fault (`InvalidValue`) when the engine refused the module, ours otherwise.
    pub fn from_compile(error: CompileError) -> Self {
        match (error.busy(), error) {
            (Some((scope, waited)), busy) => {
                ServiceError::Busy { scope, message: busy.to_string(), retry_after: waited.max(Duration::from_secs(1)) }
            }
            (None, CompileError::Refused(refused)) => ServiceError::InvalidValue(format!("module refused: {refused}")),
            (None, failed) => ServiceError::internal(failed),
        }
    }

    /// The rules failed with `error` (recorded as `decision_id`, if they were).
    pub fn rules_failed(error: RulesError, decision_id: Option<String>) -> Self {
        ServiceError::RulesFailed { error: Box::new(error), decision_id }
    }

    /// Whether a concurrent write moved the stored thing on: trying again may succeed.
    pub fn is_version_mismatch(&self) -> bool {
        matches!(self, ServiceError::VersionMismatch { .. })
    }

    /// A short snake_case name of the failure, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ServiceError::Unauthenticated(_) => "unauthenticated",
            ServiceError::RateLimited { .. } => "rate_limited",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::VersionMismatch { .. } => "version_mismatch",
            ServiceError::Malformed(_) => "malformed",
            ServiceError::InvalidValue(_) => "invalid_value",
            ServiceError::InvalidSettings(_) => "invalid_settings",
            ServiceError::Patch(_) => "patch",
            ServiceError::RulesFailed { error, .. } => error.kind(),
            ServiceError::QuotaExceeded(_) => "quota_exceeded",
            ServiceError::Busy { .. } => "busy",
            ServiceError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => ServiceError::NotFound(what),
            StoreError::Conflict(what) => ServiceError::Conflict(what),
            StoreError::VersionMismatch { what, expected, actual } => {
                ServiceError::VersionMismatch { what, expected, actual }
            }
            StoreError::QuotaExceeded(quota) => ServiceError::QuotaExceeded(quota),
            other => ServiceError::internal(other),
        }
    }
}

impl From<RulesError> for ServiceError {
    fn from(error: RulesError) -> Self {
        match error {
            RulesError::Store(store) => store.into(),
            missing @ RulesError::MissingVersion { .. } => ServiceError::internal(missing),
            RulesError::Busy(no_slot) => ServiceError::Busy {
                scope: BusyScope::Tenant,
                message: no_slot.to_string(),
                retry_after: no_slot.waited,
            },
            RulesError::CompileBusy(busy) => ServiceError::from_compile(busy),
            failed => ServiceError::rules_failed(failed, None),
        }
    }
}

/// A rules failure of a preview: a version the caller named that does not exist is not found
/// (in a live decision it would be our inconsistency).
pub fn preview_failure(error: RulesError) -> ServiceError {
    match error {
        missing @ RulesError::MissingVersion { .. } => ServiceError::NotFound(missing.to_string()),
        other => other.into(),
    }
}
