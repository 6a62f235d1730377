//! The prologue of every tenant route as extractors: the bearer key checked against the
//! `{tenant}` of the path (and, for realm routes, the `{realm}` looked up), before the body is
//! read. A handler that takes [`RealmCaller`] runs only for a valid key of that tenant.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

use super::{error::ApiError, extract::Bearer};
use crate::service::{
    SharedState,
    access::{self, Caller, Need},
};
use muster_store::model::Realm;

/// What a route needs of its key, as a type: [`Admin`] or [`Evaluation`].
pub trait Requirement: Send + Sync {
    /// The need it stands for.
    const NEED: Need;
}

/// An admin key of the tenant.
pub struct Admin;

impl Requirement for Admin {
    const NEED: Need = Need::Admin;
}

/// An evaluation or admin key of the tenant.
pub struct Evaluation;

impl Requirement for Evaluation {
    const NEED: Need = Need::Evaluation;
}

/// A caller allowed `R` on the path's `{tenant}`.
pub struct TenantCaller<R: Requirement = Admin> {
    /// Who is calling.
    pub caller: Caller,
    /// The tenant of the path.
    pub tenant: String,
    requirement: PhantomData<R>,
}

impl<R: Requirement> FromRequestParts<SharedState> for TenantCaller<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let tenant = path_param(parts, state, "tenant").await?;
        let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
        let caller = access::tenant_caller(&state.store, token.as_deref(), &tenant, R::NEED).await?;
        Ok(TenantCaller { caller, tenant, requirement: PhantomData })
    }
}

/// A caller allowed `R` on the path's `{tenant}`, and the path's `{realm}` of that tenant.
pub struct RealmCaller<R: Requirement = Admin> {
    /// Who is calling.
    pub caller: Caller,
    /// The realm of the path.
    pub realm: Realm,
    requirement: PhantomData<R>,
}

impl<R: Requirement> RealmCaller<R> {
    /// The prologue itself, for a handler that must read its body first (the module upload:
    /// a client that sends a large body before reading the answer would otherwise see the
    /// connection closed under it instead of the 401 or 404).
    pub async fn check(
        state: &SharedState,
        token: Option<&str>,
        tenant: &str,
        realm_id: &str,
    ) -> Result<Self, ApiError> {
        let caller = access::tenant_caller(&state.store, token, tenant, R::NEED).await?;
        let realm = state
            .store
            .get_realm(tenant, realm_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no realm {realm_id}")))?;
        Ok(RealmCaller { caller, realm, requirement: PhantomData })
    }
}

impl<R: Requirement> FromRequestParts<SharedState> for RealmCaller<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let tenant = path_param(parts, state, "tenant").await?;
        let realm_id = path_param(parts, state, "realm").await?;
        let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
        Self::check(state, token.as_deref(), &tenant, &realm_id).await
    }
}

/// The path parameter `name` of the matched route.
async fn path_param(parts: &mut Parts, state: &SharedState, name: &str) -> Result<String, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .ok_or_else(|| ApiError::internal(format!("route has no {{{name}}} parameter")))
}
