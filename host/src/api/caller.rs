//! The prologue of every tenant route as extractors: the bearer key checked against the
//! `{tenant}` of the path (and, for realm routes, the `{realm}` looked up), before the body is
//! read. A handler that takes [`RealmCaller`] runs only for a valid key of that tenant; one that
//! takes `Result<RealmCaller, ApiError>` decides what to do with the body of a refused request
//! (the module upload discards it, see [`super::extract::discard_body`]).

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

use super::{
    error::ApiError,
    extract::{Bearer, Peer},
};
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
        let caller = authenticate::<R>(parts, state, &tenant).await?;
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

impl<R: Requirement> FromRequestParts<SharedState> for RealmCaller<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let tenant = path_param(parts, state, "tenant").await?;
        let realm_id = path_param(parts, state, "realm").await?;
        let caller = authenticate::<R>(parts, state, &tenant).await?;
        let realm = state
            .store
            .get_realm(&tenant, &realm_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no realm {realm_id}")))?;
        Ok(RealmCaller { caller, realm, requirement: PhantomData })
    }
}

/// The operator, by the operator token (the `/v1/tenants` routes).
pub struct Operator;

impl FromRequestParts<SharedState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
        let Ok(Peer(address)) = Peer::from_request_parts(parts, state).await;
        access::within_failure_budget(state, address, None, async { access::operator(state, token.as_deref()) })
            .await?;
        Ok(Operator)
    }
}

/// The key of the request checked for `R` on `tenant`, within the client address's budget of
/// failed authentications.
async fn authenticate<R: Requirement>(
    parts: &mut Parts,
    state: &SharedState,
    tenant: &str,
) -> Result<Caller, ApiError> {
    let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
    let Ok(Peer(address)) = Peer::from_request_parts(parts, state).await;
    let check = access::tenant_caller(&state.store, token.as_deref(), tenant, R::NEED);
    Ok(access::within_failure_budget(state, address, Some(tenant), check).await?)
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
