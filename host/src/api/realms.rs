//! Organizations and realms of a tenant.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    error::ApiError,
    extract::{ApiJson, Bearer},
    tenants::check_slug,
};
use crate::service::{
    AppState, SharedState,
    access::{self, Need},
    now_millis,
};
use muster_store::{
    Audit,
    model::{Organization, Realm},
};

/// `PUT …/organizations/{organization}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationBody {
    name: String,
}

/// Creates or renames an organization.
pub async fn save_organization(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<OrganizationBody>,
) -> Result<Json<Organization>, ApiError> {
    let caller = access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    check_slug("organization id", &id)?;
    let organization = Organization { id, name: body.name };
    state.store.save_organization(&tenant, &organization, &Audit { actor: caller.actor(), at: now_millis() }).await?;
    Ok(Json(organization))
}

/// Lists the tenant's organizations.
pub async fn list_organizations(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    Ok(Json(json!({ "organizations": state.store.list_organizations(&tenant).await? })))
}

/// `POST …/realms` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRealm {
    id: String,
    name: String,
    #[serde(default)]
    default_organization: Option<String>,
}

/// Creates a realm.
pub async fn create(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<NewRealm>,
) -> Result<(StatusCode, Json<Realm>), ApiError> {
    let caller = access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    check_slug("realm id", &body.id)?;
    check_organization(&state, &tenant, body.default_organization.as_deref()).await?;
    let now = now_millis();
    let realm = Realm::new(&tenant, &body.id, &body.name, body.default_organization, now);
    state.store.create_realm(&realm, &Audit { actor: caller.actor(), at: now }).await?;
    Ok((StatusCode::CREATED, Json(realm)))
}

/// Lists the tenant's realms.
pub async fn list(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    Ok(Json(json!({ "realms": state.store.list_realms(&tenant).await? })))
}

/// Shows a realm with its active and shadow versions.
pub async fn get(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm)): Path<(String, String)>,
) -> Result<Json<Realm>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    Ok(Json(find_realm(&state, &tenant, &realm).await?))
}

/// `PATCH …/realms/{realm}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealmUpdate {
    default_organization: Option<String>,
}

/// Sets (or, with `null`, clears) the realm's default organization.
pub async fn update(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm)): Path<(String, String)>,
    ApiJson(body): ApiJson<RealmUpdate>,
) -> Result<Json<Realm>, ApiError> {
    let caller = access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    find_realm(&state, &tenant, &realm).await?;
    check_organization(&state, &tenant, body.default_organization.as_deref()).await?;
    let audit = Audit { actor: caller.actor(), at: now_millis() };
    state.store.set_default_organization(&tenant, &realm, body.default_organization, &audit).await?;
    Ok(Json(find_realm(&state, &tenant, &realm).await?))
}

/// The realm, or 404.
pub async fn find_realm(state: &AppState, tenant: &str, realm: &str) -> Result<Realm, ApiError> {
    state.store.get_realm(tenant, realm).await?.ok_or_else(|| ApiError::NotFound(format!("no realm {realm}")))
}

async fn check_organization(state: &AppState, tenant: &str, organization: Option<&str>) -> Result<(), ApiError> {
    match organization {
        Some(id) if state.store.get_organization(tenant, id).await?.is_none() => {
            Err(ApiError::Unprocessable(format!("no organization {id}: create it first")))
        }
        _ => Ok(()),
    }
}
