//! `POST …/realms/{r}/sessions/introspect`: whether a login's session is still valid (the login
//! service asks; deactivation revokes at once).

use axum::{Json, extract::State};
use serde::Deserialize;

use super::{
    caller::{Evaluation, RealmCaller},
    error::ApiError,
    extract::ApiJson,
};
use crate::service::{
    SharedState,
    sessions::{self, Introspection},
};

/// The introspection request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectRequest {
    /// The session token a login answered.
    session: String,
}

/// Answers whether the session is active, and if not, why.
pub async fn introspect(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller<Evaluation>,
    ApiJson(body): ApiJson<IntrospectRequest>,
) -> Result<Json<Introspection>, ApiError> {
    Ok(Json(sessions::introspect(&state.store, &realm, &body.session).await?))
}
