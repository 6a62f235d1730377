//! Who is calling, and may they do this to this tenant.
//!
//! A key of tenant A presented for tenant B gets 404, exactly as if B did not exist, so keys
//! cannot be used to discover other tenants. An evaluation key asking for an admin route gets
//! 403.

use crate::{api::error::ApiError, auth};
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
    state: &AppState,
    token: Option<&str>,
    tenant: &str,
    need: Need,
) -> Result<Caller, ApiError> {
    let token = token.ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
    let (id, secret) = auth::parse(token).ok_or_else(|| ApiError::Unauthorized("malformed API key".into()))?;
    let key = state.store.get_key(id).await?;
    let key = match key {
        Some(key) if key.revoked_at.is_none() && auth::verify(secret, &key.secret_sha256) => key,
        _ => return Err(ApiError::Unauthorized("invalid or revoked API key".into())),
    };
    if key.tenant_id != tenant {
        return Err(ApiError::NotFound(format!("no tenant {tenant}")));
    }
    if need == Need::Admin && key.kind != KeyKind::Admin {
        return Err(ApiError::Forbidden("this route needs an admin key; evaluation keys may only evaluate".into()));
    }
    Ok(Caller { key })
}

/// Checks the operator token.
pub fn operator(state: &AppState, token: Option<&str>) -> Result<(), ApiError> {
    let expected = state
        .operator_token_sha256
        .as_deref()
        .ok_or_else(|| ApiError::Forbidden("operator routes are disabled: set MUSTER_OPERATOR_TOKEN".into()))?;
    let token = token.ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
    if auth::verify(token, expected) { Ok(()) } else { Err(ApiError::Unauthorized("invalid operator token".into())) }
}
