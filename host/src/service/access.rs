//! Who is calling, and may they do this to this tenant.
//!
//! A key of tenant A presented for tenant B is answered as if B did not exist (`NotFound`), so
//! keys cannot be used to discover other tenants. An evaluation key asking for an admin route is
//! `Forbidden`.

use super::{error::ServiceError, ports::KeyStore};
use crate::auth;
use muster_store::model::{ApiKey, KeyKind};

use super::AppState;

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
