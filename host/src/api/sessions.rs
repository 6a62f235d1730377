//! `POST …/realms/{r}/sessions/introspect`: whether a login's session is still valid (the login
//! service asks; deactivation revokes at once).

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;

use super::{
    error::ApiError,
    extract::{ApiJson, Bearer},
    realms::find_realm,
};
use crate::service::{
    SharedState,
    access::{self, Need},
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
    Bearer(token): Bearer,
    Path((tenant, realm)): Path<(String, String)>,
    ApiJson(body): ApiJson<IntrospectRequest>,
) -> Result<Json<Introspection>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Evaluation).await?;
    let realm = find_realm(&state, &tenant, &realm).await?;
    Ok(Json(sessions::introspect(&state.store, &realm, &body.session).await?))
}
