//! SCIM provisioning: what a SCIM request does to users and groups. Unlike logins, these come
//! from the identity provider's sync, so:
//!
//! * every write that can change a decision runs the realm's rules and applies them, like a
//!   login ([`super::decide`]): a user create, update or reactivation, and each member whose
//!   groups a group write changed;
//! * `active: false` deprovisions at once ([`users::deactivate`]): blocked, out of every group,
//!   sessions revoked, each step audited; `active: true` restores and re-decides.
//!
//! Errors are SCIM errors ([`ScimError`]): the admin API converts them where it calls in.
//!
//! * [`resource`]: users and groups as SCIM resources, and back;
//! * [`users`], [`groups`]: the operations.

pub mod groups;
pub mod resource;
pub mod users;

use axum::http::StatusCode;

use super::{decide::DecideError, rules::RulesError};
use muster_scim::error::{ScimError, ScimType};
use muster_store::StoreError;

/// How often a write is retried when a concurrent write moved the user on (a login of the same
/// user, another SCIM request).
const ATTEMPTS: usize = 3;

/// A store failure as SCIM reports it, where `what` names the resource the request was about.
pub fn store_error(error: StoreError) -> ScimError {
    match error {
        StoreError::NotFound(detail) => ScimError::not_found(detail),
        StoreError::Conflict(detail) => ScimError::uniqueness(detail),
        StoreError::VersionMismatch { what, expected, actual } => {
            ScimError::precondition_failed(format!("{what} is at version W/\"{actual}\", not W/\"{expected}\""))
        }
        other => ScimError::internal(other),
    }
}

/// A failed decision as SCIM reports it: a rules failure is the tenant's module failing on this
/// user (`422`: retrying will not help until the rules change).
pub fn decide_error(error: DecideError) -> ScimError {
    match error {
        DecideError::Store(store) | DecideError::Rules(RulesError::Store(store)) => store_error(store),
        DecideError::Rules(missing @ RulesError::MissingVersion { .. }) => ScimError::internal(missing),
        DecideError::Rules(rules) => ScimError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            scim_type: None,
            detail: format!("the realm's rules failed on this user, so the change was not applied: {rules}"),
        },
        DecideError::Encode(detail) => ScimError::internal(detail),
    }
}

/// A `NotFound` naming an unknown member, as SCIM wants it: `400 invalidValue`.
pub fn member_error(error: StoreError) -> ScimError {
    match error {
        StoreError::NotFound(detail) => {
            ScimError::bad_request(ScimType::InvalidValue, format!("unknown member: {detail}"))
        }
        other => store_error(other),
    }
}
