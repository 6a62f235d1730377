//! Rule-module versions of a realm: upload (validated by the engine and by the module's own
//! settings validation), list, activate, roll back.

use axum::{
    Json,
    extract::{FromRequest as _, Path, Request, State},
    http::StatusCode,
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    caller::RealmCaller,
    error::ApiError,
    extract::{ApiJson, discard_body},
};
use crate::service::{
    SharedState,
    modules::{self, Activated},
};
use muster_store::model::{ModuleVersion, RuleKind};

/// `POST …/modules/{kind}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// The module, base64.
    wasm: String,
    /// The settings document.
    #[serde(default = "empty_object")]
    settings: Value,
    /// What changed, for people.
    #[serde(default)]
    note: String,
}

fn empty_object() -> Value {
    json!({})
}

/// Parses the `{kind}` path segment.
pub fn parse_kind(kind: &str) -> Result<RuleKind, ApiError> {
    RuleKind::parse(kind).ok_or_else(|| ApiError::NotFound(format!("no rule kind {kind:?}: use `user` or `group`")))
}

/// Validates and stores a new version; it is not active until activated. A bad upload gets a
/// 4xx saying what is wrong and stores nothing. The key, the realm and the kind are checked
/// before the body is read: a refused upload's body is discarded unread, whatever its size.
pub async fn upload(
    State(state): State<SharedState>,
    caller: Result<RealmCaller, ApiError>,
    Path((_, _, kind)): Path<(String, String, String)>,
    request: Request,
) -> Result<(StatusCode, Json<ModuleVersion>), ApiError> {
    let checked = caller.and_then(|caller| Ok((caller, parse_kind(&kind)?)));
    let (RealmCaller { caller, realm, .. }, kind) = match checked {
        Ok(checked) => checked,
        Err(refused) => {
            discard_body(request, state.config.max_upload_bytes).await;
            return Err(refused);
        }
    };
    let ApiJson(body) = ApiJson::<Upload>::from_request(request, &state).await?;
    let wasm = STANDARD
        .decode(body.wasm.trim())
        .map_err(|e| ApiError::BadRequest(format!("`wasm` is not valid base64: {e}")))?;
    let upload = modules::Upload { kind, wasm, settings: body.settings, note: body.note };
    let version = modules::upload(&state, &realm, upload, &caller).await?;
    Ok((StatusCode::CREATED, Json(version)))
}

/// Lists the versions of a realm's module, oldest first.
pub async fn list(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    Path((_, _, kind)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = parse_kind(&kind)?;
    let active = match kind {
        RuleKind::User => realm.user_rules_version,
        RuleKind::Group => realm.group_rules_version,
    };
    let versions = state.store.list_module_versions(&realm.tenant_id, &realm.id, kind).await?;
    Ok(Json(json!({ "active": active, "versions": versions })))
}

/// Shows one version.
pub async fn get(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    Path((_, _, kind, version)): Path<(String, String, String, String)>,
) -> Result<Json<ModuleVersion>, ApiError> {
    let kind = parse_kind(&kind)?;
    let version = parse_version(&version)?;
    let found = state.store.get_module_version(&realm.tenant_id, &realm.id, kind, version).await?;
    found.map(Json).ok_or_else(|| {
        ApiError::NotFound(format!("no {} rules version {version} in realm {}", kind.as_str(), realm.id))
    })
}

/// Makes a version the realm's active one.
pub async fn activate(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    Path((_, _, kind, version)): Path<(String, String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = parse_kind(&kind)?;
    let version = parse_version(&version)?;
    let activated = modules::activate(&state, &realm, kind, version, &caller).await?;
    Ok(activation(kind, activated))
}

/// Re-activates the version that was active before the current one.
pub async fn rollback(
    State(state): State<SharedState>,
    RealmCaller { caller, realm, .. }: RealmCaller,
    Path((_, _, kind)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = parse_kind(&kind)?;
    let activated = modules::rollback(&state, &realm, kind, &caller).await?;
    Ok(activation(kind, activated))
}

fn activation(kind: RuleKind, Activated { active, previous }: Activated) -> Json<Value> {
    Json(json!({ "kind": kind, "active": active, "previous": previous }))
}

/// Parses the `{version}` path segment.
pub fn parse_version(version: &str) -> Result<i64, ApiError> {
    version.parse().map_err(|_| ApiError::NotFound(format!("no version {version:?}: versions are numbers")))
}
