//! `POST /scim/{tenant}/{realm}/oauth/token`: the OAuth2 client-credentials grant (RFC 6749
//! §4.4) for the realm's SCIM clients. The client authenticates with HTTP Basic or with
//! `client_id` / `client_secret` form fields; the answer is a random access token that lives
//! `scim_token_lifetime` (configured), stored hashed. Errors are RFC 6749 §5.2 bodies.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde::Deserialize;
use serde_json::json;

use crate::{
    auth,
    service::{SharedState, now_millis},
};
use muster_store::{Audit, model::ScimToken};

/// The form fields of a token request.
#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// An RFC 6749 §5.2 error.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(json!({ "error": self.error, "error_description": self.description }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"muster-scim\""));
        }
        response
    }
}

fn invalid_client() -> OAuthError {
    OAuthError {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        description: "unknown client or wrong secret".into(),
    }
}

/// Issues an access token to a SCIM client of the realm.
pub async fn issue(
    State(state): State<SharedState>,
    Path((tenant, realm)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue_token(&state, &tenant, &realm, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn issue_token(
    state: &SharedState,
    tenant: &str,
    realm: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let form: TokenRequest = serde_urlencoded::from_bytes(body).map_err(|e| OAuthError {
        status: StatusCode::BAD_REQUEST,
        error: "invalid_request",
        description: format!("send application/x-www-form-urlencoded fields: {e}"),
    })?;
    if form.grant_type.as_deref() != Some("client_credentials") {
        return Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            description: "only grant_type=client_credentials is supported".into(),
        });
    }
    let (client_id, secret) = match basic_credentials(headers) {
        Some(pair) => pair,
        None => (form.client_id.ok_or_else(invalid_client)?, form.client_secret.ok_or_else(invalid_client)?),
    };
    let credential = state.store.get_scim_credential(&client_id).await.map_err(|e| OAuthError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        error: "server_error",
        description: {
            tracing::error!(error = %e, "token endpoint: store failed");
            "internal error; see the server log".into()
        },
    })?;
    let credential = credential
        .filter(|c| {
            c.tenant_id == tenant
                && c.realm_id == realm
                && c.revoked_at.is_none()
                && auth::verify(&secret, &c.secret_sha256)
        })
        .ok_or_else(invalid_client)?;
    let now = now_millis();
    let token = muster_store::ids::random_id(32);
    let issued = ScimToken {
        token_sha256: auth::sha256_hex(&token),
        tenant_id: tenant.to_owned(),
        realm_id: realm.to_owned(),
        credential_id: credential.id.clone(),
        issued_at: now,
        expires_at: now.saturating_add(state.config.scim_token_lifetime_millis()),
    };
    let audit = Audit { actor: format!("scim:{}", credential.id), at: now };
    state.store.insert_scim_token(&issued, &audit).await.map_err(|e| {
        tracing::error!(error = %e, "token endpoint: token not stored");
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "internal error; see the server log".into(),
        }
    })?;
    let mut response = Json(json!({
        "access_token": token, "token_type": "Bearer", "expires_in": state.config.scim_token_lifetime.as_secs(),
    }))
    .into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `Authorization: Basic base64(client_id:client_secret)`, if present and well-formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}
