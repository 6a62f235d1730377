//! `POST /scim/{tenant}/{realm}/oauth/token`: the OAuth2 client-credentials grant (RFC 6749
//! §4.4) for the realm's SCIM clients. The client authenticates with HTTP Basic or with
//! `client_id` / `client_secret` form fields; the answer is a random access token that lives
//! `scim_token_lifetime` (configured), stored hashed. Errors are RFC 6749 §5.2 bodies.

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest as _, Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde::Deserialize;
use serde_json::json;
use std::{net::IpAddr, time::Duration};

use crate::{
    api::{error::retry_after_secs, extract::Peer},
    auth,
    service::{SharedState, access, now_millis, throttle::Limited},
};
use muster_store::{
    Audit,
    model::{ScimCredential, ScimToken},
};

/// The form fields of a token request.
#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// An RFC 6749 §5.2 error (and, for a `429`, when to retry).
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    retry_after: Option<Duration>,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(json!({ "error": self.error, "error_description": self.description }))).into_response();
        if let Some(wait) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, retry_after_secs(wait).into());
        }
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
        retry_after: None,
    }
}

fn request_error(error: &'static str, description: String) -> OAuthError {
    OAuthError { status: StatusCode::BAD_REQUEST, error, description, retry_after: None }
}

fn server_error() -> OAuthError {
    OAuthError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        error: "server_error",
        description: "internal error; see the server log".into(),
        retry_after: None,
    }
}

/// The `429` of a client or address past a budget (RFC 6749 has no code for it; RFC 6585 the
/// status).
fn slow_down(limited: Limited, what: &str) -> OAuthError {
    OAuthError {
        status: StatusCode::TOO_MANY_REQUESTS,
        error: "temporarily_unavailable",
        description: format!("too many {what}; retry in {} s", retry_after_secs(limited.retry_after)),
        retry_after: Some(limited.retry_after),
    }
}

/// Issues an access token to a SCIM client of the realm. A client that authenticates with HTTP
/// Basic is checked before its form is read: a wrong secret costs no body.
pub async fn issue(
    State(state): State<SharedState>,
    Path((tenant, realm)): Path<(String, String)>,
    Peer(address): Peer,
    request: Request,
) -> Response {
    if let Err(limited) = state.throttle.admit(address) {
        return slow_down(limited, "failed authentications").into_response();
    }
    let early = match basic_credentials(request.headers()) {
        Some((client_id, secret)) => match authenticate(&state, &tenant, &realm, address, &client_id, &secret).await {
            Ok(credential) => Some(credential),
            Err(refused) => return refused.into_response(),
        },
        None => None,
    };
    // An unreadable or oversized body is answered as on every route (`api/error.rs`).
    let body = match Bytes::from_request(request, &state).await {
        Ok(body) => body,
        Err(rejection) => return rejection.into_response(),
    };
    match issue_token(&state, &tenant, &realm, address, early, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn issue_token(
    state: &SharedState,
    tenant: &str,
    realm: &str,
    address: IpAddr,
    early: Option<ScimCredential>,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let form: TokenRequest = serde_urlencoded::from_bytes(body)
        .map_err(|e| request_error("invalid_request", format!("send application/x-www-form-urlencoded fields: {e}")))?;
    if form.grant_type.as_deref() != Some("client_credentials") {
        return Err(request_error("unsupported_grant_type", "only grant_type=client_credentials is supported".into()));
    }
    let credential = match early {
        Some(credential) => credential,
        None => {
            let client_id = form.client_id.ok_or_else(invalid_client)?;
            let secret = form.client_secret.ok_or_else(invalid_client)?;
            authenticate(state, tenant, realm, address, &client_id, &secret).await?
        }
    };
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
    state.store.insert_scim_token(&issued, state.config.max_live_tokens_per_client, &audit).await.map_err(|e| {
        tracing::error!(error = %e, "token endpoint: token not stored");
        server_error()
    })?;
    let mut response = Json(json!({
        "access_token": token, "token_type": "Bearer", "expires_in": state.config.scim_token_lifetime.as_secs(),
    }))
    .into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The realm's SCIM client `client_id` if `secret` is its secret, within the client's and the
/// address's token budgets and the address's budget of failed authentications.
async fn authenticate(
    state: &SharedState,
    tenant: &str,
    realm: &str,
    address: IpAddr,
    client_id: &str,
    secret: &str,
) -> Result<ScimCredential, OAuthError> {
    if let Err(limited) = state.throttle.token_request(client_id, address) {
        if limited.new_burst {
            access::record_burst(state, address, Some(tenant), "token requests").await;
        }
        return Err(slow_down(limited, "token requests"));
    }
    let credential = state.store.get_scim_credential(client_id).await.map_err(|e| {
        tracing::error!(error = %e, "token endpoint: store failed");
        server_error()
    })?;
    let credential = credential.filter(|c| {
        c.tenant_id == tenant && c.realm_id == realm && c.revoked_at.is_none() && auth::verify(secret, &c.secret_sha256)
    });
    match credential {
        Some(credential) => Ok(credential),
        None => match state.throttle.failed(address) {
            Some(limited) => {
                if limited.new_burst {
                    access::record_burst(state, address, Some(tenant), "failed authentications").await;
                }
                Err(slow_down(limited, "failed authentications"))
            }
            None => Err(invalid_client()),
        },
    }
}

/// `Authorization: Basic base64(client_id:client_secret)`, if present and well-formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}
