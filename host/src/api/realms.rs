//! Organizations and realms of a tenant.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    caller::{RealmCaller, TenantCaller},
    error::ApiError,
    extract::ApiJson,
    tenants::check_slug,
};
use crate::service::{AppState, SharedState, now_millis};
use muster_store::{
    Audit, RealmChange,
    model::{AutoRollback, FailurePolicy, MembershipSource, Organization, Realm, RealmLimits},
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
    TenantCaller { caller, tenant, .. }: TenantCaller,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<OrganizationBody>,
) -> Result<Json<Organization>, ApiError> {
    check_slug("organization id", &id)?;
    let organization = Organization { id, name: body.name };
    state.store.save_organization(&tenant, &organization, &Audit { actor: caller.actor(), at: now_millis() }).await?;
    Ok(Json(organization))
}

/// Lists the tenant's organizations.
pub async fn list_organizations(
    State(state): State<SharedState>,
    TenantCaller { tenant, .. }: TenantCaller,
) -> Result<Json<Value>, ApiError> {
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
    /// Whether decisions create the organizations they name that the tenant does not have.
    #[serde(default)]
    create_organizations: bool,
    /// What a live decision applies when the rules fail (default: fail closed).
    #[serde(default)]
    failure_policy: FailurePolicy,
    /// When the realm rolls a failing active version back by itself (default: never).
    #[serde(default, deserialize_with = "auto_rollback")]
    auto_rollback: Option<AutoRollback>,
    /// Whose word on provider groups counts when claims and SCIM disagree (default: the newest).
    #[serde(default)]
    membership_source: MembershipSource,
    /// The realm's own bounds of each evaluation (default: the operator's).
    #[serde(default)]
    limits: RealmLimits,
}

/// Creates a realm.
pub async fn create(
    State(state): State<SharedState>,
    TenantCaller { caller, tenant, .. }: TenantCaller,
    ApiJson(body): ApiJson<NewRealm>,
) -> Result<(StatusCode, Json<Realm>), ApiError> {
    check_slug("realm id", &body.id)?;
    check_organization(&state, &tenant, body.default_organization.as_deref()).await?;
    check_organization(&state, &tenant, body.failure_policy.fallback_organization()).await?;
    check_limits(&state, &body.limits)?;
    let now = now_millis();
    let realm = Realm {
        create_organizations: body.create_organizations,
        failure_policy: body.failure_policy,
        auto_rollback: body.auto_rollback,
        membership_source: body.membership_source,
        limits: body.limits,
        ..Realm::new(&tenant, &body.id, &body.name, body.default_organization, now)
    };
    state.store.create_realm(&realm, &Audit { actor: caller.actor(), at: now }).await?;
    Ok((StatusCode::CREATED, Json(realm)))
}

/// Lists the tenant's realms.
pub async fn list(
    State(state): State<SharedState>,
    TenantCaller { tenant, .. }: TenantCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "realms": state.store.list_realms(&tenant).await? })))
}

/// Shows a realm with its active and shadow versions.
pub async fn get(RealmCaller { realm, .. }: RealmCaller) -> Result<Json<Realm>, ApiError> {
    Ok(Json(realm))
}

/// `PATCH …/realms/{realm}` body: each field given is set, each absent one left as it is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealmUpdate {
    /// `Some(None)` (`null`) clears it.
    #[serde(default, deserialize_with = "present")]
    default_organization: Option<Option<String>>,
    /// Absent: left as it is; `null` is refused (it is a boolean).
    #[serde(default, deserialize_with = "given")]
    create_organizations: Option<bool>,
    /// Absent: left as it is; `null` is refused (it is a policy).
    #[serde(default, deserialize_with = "given")]
    failure_policy: Option<FailurePolicy>,
    /// Absent: left as it is; `null` turns it off.
    #[serde(default, deserialize_with = "changed_auto_rollback")]
    auto_rollback: Option<Option<AutoRollback>>,
    /// Absent: left as it is; `null` is refused (it is a source).
    #[serde(default, deserialize_with = "given")]
    membership_source: Option<MembershipSource>,
    /// Absent: left as they are; an object replaces them whole (a bound it leaves out is the
    /// operator's); `null` is refused.
    #[serde(default, deserialize_with = "given")]
    limits: Option<RealmLimits>,
}

/// A field that, when present, must hold a value (not `null`).
fn given<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A field that is present, `null` or not.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// An `auto_rollback` field: `null` (off) or the setting, an object (an array is refused, though
/// `serde` would read the fields from one).
fn auto_rollback<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<AutoRollback>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if !(value.is_null() || value.is_object()) {
        let unexpected = serde::de::Unexpected::Other("neither null nor an object");
        return Err(serde::de::Error::invalid_type(unexpected, &"null or an object"));
    }
    Option::<AutoRollback>::deserialize(value).map_err(serde::de::Error::custom)
}

/// An `auto_rollback` field that is present: `Some(None)` turns it off.
fn changed_auto_rollback<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<AutoRollback>>, D::Error> {
    auto_rollback(deserializer).map(Some)
}

/// Sets (or, with `null`, clears) the realm's default organization, and sets whether its
/// decisions create the organizations they name, its failure policy, (or, with `null`, turns
/// off) its automatic rollback and whose word on provider groups counts. An organization named
/// (default or fallback) must exist.
pub async fn update(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    ApiJson(body): ApiJson<RealmUpdate>,
) -> Result<Json<Realm>, ApiError> {
    let audit = Audit { actor: caller.actor(), at: now_millis() };
    if let Some(organization) = &body.default_organization {
        check_organization(&state, &realm.tenant_id, organization.as_deref()).await?;
    }
    if let Some(policy) = &body.failure_policy {
        check_organization(&state, &realm.tenant_id, policy.fallback_organization()).await?;
    }
    if let Some(limits) = &body.limits {
        check_limits(&state, limits)?;
    }
    let change = RealmChange {
        default_organization: body.default_organization,
        create_organizations: body.create_organizations,
        failure_policy: body.failure_policy,
        auto_rollback: body.auto_rollback,
        membership_source: body.membership_source,
        limits: body.limits,
    };
    state.store.update_realm(&realm.tenant_id, &realm.id, &change, &audit).await?;
    Ok(Json(reload(&state, &realm).await?))
}

/// The realm as stored now, after a change to it.
pub async fn reload(state: &AppState, realm: &Realm) -> Result<Realm, ApiError> {
    state
        .store
        .get_realm(&realm.tenant_id, &realm.id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no realm {}", realm.id)))
}

/// Each bound a realm sets is at least 1 and at most the operator's (the engine's limits).
fn check_limits(state: &AppState, limits: &RealmLimits) -> Result<(), ApiError> {
    let maxima = state.rules.engine().limits();
    let timeout_ms = u64::try_from(maxima.timeout.as_millis()).unwrap_or(u64::MAX);
    let max_memory_bytes = u64::try_from(maxima.max_memory_bytes).unwrap_or(u64::MAX);
    for (name, value, maximum) in [
        ("fuel", limits.fuel, maxima.fuel),
        ("timeout_ms", limits.timeout_ms, timeout_ms),
        ("max_memory_bytes", limits.max_memory_bytes, max_memory_bytes),
    ] {
        match value {
            Some(0) => return Err(ApiError::Unprocessable(format!("limits.{name} must be at least 1"))),
            Some(value) if value > maximum => {
                return Err(ApiError::Unprocessable(format!(
                    "limits.{name} of {value} is over the operator's maximum of {maximum}"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

async fn check_organization(state: &AppState, tenant: &str, organization: Option<&str>) -> Result<(), ApiError> {
    match organization {
        Some(id) if state.store.get_organization(tenant, id).await?.is_none() => {
            Err(ApiError::Unprocessable(format!("no organization {id}: create it first")))
        }
        _ => Ok(()),
    }
}
