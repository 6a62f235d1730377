//! SCIM provisioning: what a SCIM request does to users and groups. Unlike logins, these come
//! from the identity provider's sync, so:
//!
//! * every write that can change a decision runs the realm's rules and applies them, like a
//!   login ([`super::decide`]): a user create, update or reactivation, and each member whose
//!   groups a group write changed;
//! * `active: false` deprovisions at once ([`user_changes::deactivate`]): blocked, out of every group,
//!   sessions revoked, each step audited; `active: true` restores and re-decides.
//!
//! Errors are [`ServiceError`]s: the SCIM endpoints and the admin API each map them to their
//! protocol.
//!
//! * [`resource`]: users and groups as SCIM resources, and back;
//! * [`user_changes`], [`group_changes`]: the operations.

pub mod group_changes;
pub mod resource;
pub mod user_changes;

use crate::service::error::ServiceError;
use muster_store::StoreError;

/// A store failure of a group write: a `NotFound` names an unknown member, which is the value
/// the client sent that is wrong.
fn member_error(error: StoreError) -> ServiceError {
    match error {
        StoreError::NotFound(detail) => ServiceError::InvalidValue(format!("unknown member: {detail}")),
        other => other.into(),
    }
}
