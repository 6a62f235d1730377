//! Who is calling a realm's SCIM endpoints: an OAuth2 access token issued to one of the realm's
//! SCIM clients, or (only where the realm enables it) the static bearer
//! `<client_id>.<client_secret>`. Anything else is `401` with a SCIM error body; a credential
//! of another realm or tenant is just as unknown.

use axum::http::{HeaderMap, header};

use crate::{
    auth,
    service::{SharedState, now_millis},
};
use muster_scim::error::ScimError;
use muster_store::model::Realm;

/// An authenticated SCIM client of a realm.
pub struct ScimCaller {
    /// The realm it provisions.
    pub realm: Realm,
    /// The SCIM credential (client id) it used.
    pub credential_id: String,
    /// The realm's SCIM base URL as the server writes it (`https://host/scim/t/r/v2`), for
    /// `meta.location` and `$ref` (see [`crate::api::origin`]).
    pub base: String,
}

impl ScimCaller {
    /// How the audit log names it.
    pub fn actor(&self) -> String {
        format!("scim:{}", self.credential_id)
    }
}

/// Authenticates the request for the realm `tenant`/`realm`; `origin` is where the server's URLs
/// point (`https://host`, see [`crate::api::origin`]).
pub async fn authenticate(
    state: &SharedState,
    headers: &HeaderMap,
    tenant: &str,
    realm: &str,
    origin: &str,
) -> Result<ScimCaller, ScimError> {
    let base = |realm: &Realm| format!("{origin}/scim/{}/{}/v2", realm.tenant_id, realm.id);
    let refused = || {
        ScimError::unauthorized(
            "a valid SCIM access token (or an enabled static bearer token) of this realm is required",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(refused)?;
    let store = &state.store;
    let credential_id = match token.split_once('.') {
        Some((client_id, secret)) => {
            let credential =
                store.get_scim_credential(client_id).await.map_err(ScimError::internal)?.ok_or_else(refused)?;
            let usable = credential.tenant_id == tenant
                && credential.realm_id == realm
                && credential.revoked_at.is_none()
                && auth::verify(secret, &credential.secret_sha256);
            if !usable {
                return Err(refused());
            }
            let found = store.get_realm(tenant, realm).await.map_err(ScimError::internal)?.ok_or_else(refused)?;
            if !found.scim_bearer_enabled {
                return Err(ScimError::unauthorized(
                    "static bearer tokens are not enabled for this realm: use the OAuth2 token endpoint",
                ));
            }
            return Ok(ScimCaller { base: base(&found), realm: found, credential_id: credential.id });
        }
        None => {
            let issued = store
                .find_scim_token(&auth::sha256_hex(token), now_millis())
                .await
                .map_err(ScimError::internal)?
                .ok_or_else(refused)?;
            if issued.tenant_id != tenant || issued.realm_id != realm {
                return Err(refused());
            }
            issued.credential_id
        }
    };
    let found = store.get_realm(tenant, realm).await.map_err(ScimError::internal)?.ok_or_else(refused)?;
    Ok(ScimCaller { base: base(&found), realm: found, credential_id })
}
