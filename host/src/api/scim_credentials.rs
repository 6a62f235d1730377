//! A realm's SCIM client credentials (admin API): create, list, rotate, revoke, whether the
//! realm accepts static bearer tokens, and the status of its SCIM endpoint. Secrets are shown
//! once and stored as SHA-256.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    caller::RealmCaller,
    error::ApiError,
    extract::{ApiJson, OptionalJson},
    origin::BaseUrl,
    realms::reload,
};
use crate::{
    auth,
    service::{SharedState, now_millis},
};
use muster_store::{
    Audit,
    model::{Realm, ScimCredential},
};

/// `POST …/scim/credentials` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCredential {
    /// What it is for (`Entra ID provisioning`).
    #[serde(default)]
    label: String,
}

/// `PUT …/scim/bearer` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BearerSetting {
    enabled: bool,
}

/// Creates a SCIM client for the realm; the secret is in this answer only.
pub async fn create(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    BaseUrl(base): BaseUrl,
    OptionalJson(body): OptionalJson<NewCredential>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = now_millis();
    let secret = muster_store::ids::random_id(32);
    let credential = ScimCredential {
        id: format!("sc_{}", muster_store::ids::random_id(12)),
        tenant_id: realm.tenant_id.clone(),
        realm_id: realm.id.clone(),
        label: body.label,
        secret_sha256: auth::sha256_hex(&secret),
        created_at: now,
        rotated_at: None,
        revoked_at: None,
    };
    state.store.insert_scim_credential(&credential, &Audit { actor: caller.actor(), at: now }).await?;
    Ok((StatusCode::CREATED, Json(shown_once(&credential, &secret, &realm, &base))))
}

/// Lists the realm's SCIM clients (never secrets).
pub async fn list(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
) -> Result<Json<Value>, ApiError> {
    let credentials: Vec<Value> =
        state.store.list_scim_credentials(&realm.tenant_id, &realm.id).await?.iter().map(public).collect();
    Ok(Json(json!({ "credentials": credentials, "bearer_enabled": realm.scim_bearer_enabled })))
}

/// Gives the client a new secret (shown once); the old one stops working at once.
pub async fn rotate(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    Path((_, _, id)): Path<(String, String, String)>,
    BaseUrl(base): BaseUrl,
) -> Result<Json<Value>, ApiError> {
    let secret = muster_store::ids::random_id(32);
    let audit = Audit { actor: caller.actor(), at: now_millis() };
    state.store.rotate_scim_credential(&realm.tenant_id, &realm.id, &id, &auth::sha256_hex(&secret), &audit).await?;
    let credential = find(&state, &realm, &id).await?;
    Ok(Json(shown_once(&credential, &secret, &realm, &base)))
}

/// Revokes the client: its secret and every token issued to it stop working at once.
pub async fn revoke(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    Path((_, _, id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .revoke_scim_credential(&realm.tenant_id, &realm.id, &id, &Audit { actor: caller.actor(), at: now_millis() })
        .await?;
    Ok(Json(public(&find(&state, &realm, &id).await?)))
}

/// The realm's SCIM endpoint: its URLs, how many clients may call it, and how its requests went
/// (counted by the store from the `scim.request` audit entries).
pub async fn status(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    BaseUrl(base): BaseUrl,
) -> Result<Json<Value>, ApiError> {
    let credentials = state.store.list_scim_credentials(&realm.tenant_id, &realm.id).await?;
    let activity = state.store.scim_activity(&realm.tenant_id, &realm.id).await?;
    let mut answer = urls(&realm, &base);
    answer["bearer_enabled"] = json!(realm.scim_bearer_enabled);
    answer["active_credentials"] = json!(credentials.iter().filter(|c| c.revoked_at.is_none()).count());
    answer["requests"] = json!(activity.as_ref().map_or(0, |a| a.requests));
    answer["errors"] = json!(activity.as_ref().map_or(0, |a| a.errors));
    answer["last_request"] = json!(activity.as_ref().map(|a| &a.last_request));
    answer["last_error"] = json!(activity.as_ref().and_then(|a| a.last_error.as_ref()));
    Ok(Json(answer))
}

/// Lets the realm accept `<client_id>.<client_secret>` as a static bearer token, or stops it.
pub async fn set_bearer(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    ApiJson(body): ApiJson<BearerSetting>,
) -> Result<Json<Realm>, ApiError> {
    let audit = Audit { actor: caller.actor(), at: now_millis() };
    state.store.set_scim_bearer_enabled(&realm.tenant_id, &realm.id, body.enabled, &audit).await?;
    reload(&state, &realm).await.map(Json)
}

async fn find(state: &SharedState, realm: &Realm, id: &str) -> Result<ScimCredential, ApiError> {
    state
        .store
        .get_scim_credential(id)
        .await?
        .filter(|c| c.tenant_id == realm.tenant_id && c.realm_id == realm.id)
        .ok_or_else(|| ApiError::NotFound(format!("no SCIM credential {id} in realm {}", realm.id)))
}

fn public(credential: &ScimCredential) -> Value {
    json!({
        "client_id": credential.id, "label": credential.label, "created_at": credential.created_at,
        "rotated_at": credential.rotated_at, "revoked_at": credential.revoked_at,
    })
}

/// The answer holding a secret: with the URLs an identity provider is configured with, under
/// `base` (see [`super::origin`]).
fn shown_once(credential: &ScimCredential, secret: &str, realm: &Realm, base: &str) -> Value {
    let mut answer = public(credential);
    answer["client_secret"] = json!(secret);
    for (name, url) in urls(realm, base).as_object().into_iter().flatten() {
        answer[name] = url.clone();
    }
    answer
}

/// The URLs an identity provider is configured with: `token_url` and `scim_url` (the Tenant URL),
/// under `base` (see [`super::origin`]).
fn urls(realm: &Realm, base: &str) -> Value {
    let root = format!("{base}/scim/{}/{}", realm.tenant_id, realm.id);
    json!({ "token_url": format!("{root}/oauth/token"), "scim_url": format!("{root}/v2/") })
}
