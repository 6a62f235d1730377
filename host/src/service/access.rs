//! Who is calling, and may they do this to this tenant.
//!
//! A key of tenant A presented for tenant B is answered as if B did not exist (`NotFound`), so
//! keys cannot be used to discover other tenants. An evaluation key asking for an admin route is
//! `Forbidden`.

use std::{future::Future, net::IpAddr};

use serde_json::json;

use super::{AppState, error::ServiceError, now_millis, ports::KeyStore, throttle::Limited};
use crate::auth;
use muster_store::{
    Audit, AuditNote,
    model::{ApiKey, KeyKind},
};

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// An admin key of the tenant.
    Admin,
    /// An evaluation or admin key of the tenant.
    Evaluation,
}

/// An authenticated caller of a tenant route.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key used.
    pub key: ApiKey,
}

impl Caller {
    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        format!("key:{}", self.key.id)
    }
}

/// Checks that `token` is a valid, unrevoked key of `tenant` allowing `need`.
pub async fn tenant_caller(
    keys: &impl KeyStore,
    token: Option<&str>,
    tenant: &str,
    need: Need,
) -> Result<Caller, ServiceError> {
    let token = token.ok_or_else(|| ServiceError::Unauthenticated("missing bearer token".into()))?;
    let (id, secret) = auth::parse(token).ok_or_else(|| ServiceError::Unauthenticated("malformed API key".into()))?;
    let key = keys.get_key(id).await?;
    let key = match key {
        Some(key) if key.revoked_at.is_none() && auth::verify(secret, &key.secret_sha256) => key,
        _ => return Err(ServiceError::Unauthenticated("invalid or revoked API key".into())),
    };
    if key.tenant_id != tenant {
        return Err(ServiceError::NotFound(format!("no tenant {tenant}")));
    }
    if need == Need::Admin && key.kind != KeyKind::Admin {
        return Err(ServiceError::Forbidden("this route needs an admin key; evaluation keys may only evaluate".into()));
    }
    Ok(Caller { key })
}

/// Runs `attempt`, a credential check of a client at `address`, within the address's budget of
/// failed authentications ([`super::throttle`]): while the address is refused, the attempt does
/// not run; a failure (`Unauthenticated`) that is one too many is answered `RateLimited` too.
/// The first refusal of a burst is logged and audited in `tenant`'s log.
pub async fn within_failure_budget<T>(
    state: &AppState,
    address: IpAddr,
    tenant: Option<&str>,
    attempt: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    state.throttle.admit(address).map_err(too_many_failures)?;
    let outcome = attempt.await;
    if matches!(outcome, Err(ServiceError::Unauthenticated(_)))
        && let Some(limited) = state.throttle.failed(address)
    {
        if limited.new_burst {
            record_burst(state, address, tenant, "failed authentications").await;
        }
        return Err(too_many_failures(limited));
    }
    outcome
}

/// The refusal of an address past its failure budget.
pub fn too_many_failures(limited: Limited) -> ServiceError {
    ServiceError::RateLimited {
        detail: "too many failed authentications from this address".into(),
        retry_after: limited.retry_after,
    }
}

/// Logs the start of a burst of refusals (`what`: failed authentications, token requests) from
/// `address`, and appends `auth.rate_limited` {address, what} to `tenant`'s audit log (not for
/// the operator routes, which have no tenant, nor for a tenant that does not exist).
pub async fn record_burst(state: &AppState, address: IpAddr, tenant: Option<&str>, what: &str) {
    tracing::warn!(%address, tenant = tenant.unwrap_or("-"), what, "rate limit reached: refusing this address for a while");
    let Some(tenant) = tenant else { return };
    let note = AuditNote {
        action: "auth.rate_limited".into(),
        target: format!("address/{address}"),
        details: json!({ "address": address.to_string(), "what": what }),
    };
    let audit = Audit { actor: format!("address:{address}"), at: now_millis() };
    if let Err(error) = state.store.record_audit(tenant, &audit, vec![note]).await {
        tracing::debug!(%tenant, %error, "rate limit not audited (no such tenant?)");
    }
}

/// Checks the operator token.
pub fn operator(state: &AppState, token: Option<&str>) -> Result<(), ServiceError> {
    let expected = state
        .operator_token_sha256
        .as_deref()
        .ok_or_else(|| ServiceError::Forbidden("operator routes are disabled: set MUSTER_OPERATOR_TOKEN".into()))?;
    let token = token.ok_or_else(|| ServiceError::Unauthenticated("missing bearer token".into()))?;
    if auth::verify(token, expected) {
        Ok(())
    } else {
        Err(ServiceError::Unauthenticated("invalid operator token".into()))
    }
}
