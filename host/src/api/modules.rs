//! Rule-module versions of a realm: upload (validated by the engine and by the module's own
//! settings validation), list, activate, roll back.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    error::ApiError,
    extract::{ApiJson, Bearer},
    realms::find_realm,
};
use crate::service::{
    SharedState,
    access::{self, Need},
    now_millis,
};
use muster_store::{
    Audit, NewModuleVersion,
    model::{ModuleVersion, RuleKind},
};

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
/// 4xx saying what is wrong and stores nothing.
pub async fn upload(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, kind)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<Upload>,
) -> Result<(StatusCode, Json<ModuleVersion>), ApiError> {
    let caller = access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let kind = parse_kind(&kind)?;
    find_realm(&state, &tenant, &realm).await?;
    let wasm = STANDARD
        .decode(body.wasm.trim())
        .map_err(|e| ApiError::BadRequest(format!("`wasm` is not valid base64: {e}")))?;
    let settings = serde_json::to_string(&body.settings).map_err(ApiError::internal)?;
    let engine = std::sync::Arc::clone(state.rules.engine());
    let (wasm, digest, prepared) = tokio::task::spawn_blocking(move || {
        let module = engine.load(&wasm).map_err(|e| ApiError::Unprocessable(format!("module refused: {e}")))?;
        let entries = module.entries();
        let provides = match kind {
            RuleKind::User => entries.user_rules,
            RuleKind::Group => entries.group_rules,
        };
        if !provides {
            return Err(ApiError::Unprocessable(format!(
                "module refused: it exports no {} rules (`muster_{}_rules`)",
                kind.as_str(),
                kind.as_str()
            )));
        }
        let prepared = module
            .prepare_settings(settings.as_bytes())
            .map_err(|e| ApiError::Unprocessable(format!("settings refused: {e}")))?;
        Ok((wasm, module.digest().to_owned(), prepared.0))
    })
    .await
    .map_err(ApiError::internal)??;
    let now = now_millis();
    let version = state
        .store
        .insert_module_version(
            NewModuleVersion {
                tenant_id: tenant,
                realm_id: realm,
                kind,
                digest,
                wasm,
                settings: serde_json::to_string(&body.settings).map_err(ApiError::internal)?,
                prepared_settings: prepared,
                note: body.note,
                created_by: caller.key.id.clone(),
                created_at: now,
            },
            &Audit { actor: caller.actor(), at: now },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(version)))
}

/// Lists the versions of a realm's module, oldest first.
pub async fn list(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, kind)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let kind = parse_kind(&kind)?;
    let found = find_realm(&state, &tenant, &realm).await?;
    let active = match kind {
        RuleKind::User => found.user_rules_version,
        RuleKind::Group => found.group_rules_version,
    };
    let versions = state.store.list_module_versions(&tenant, &realm, kind).await?;
    Ok(Json(json!({ "active": active, "versions": versions })))
}

/// Shows one version.
pub async fn get(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, kind, version)): Path<(String, String, String, String)>,
) -> Result<Json<ModuleVersion>, ApiError> {
    access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let kind = parse_kind(&kind)?;
    let version = parse_version(&version)?;
    let found = state.store.get_module_version(&tenant, &realm, kind, version).await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no {} rules version {version} in realm {realm}", kind.as_str())))
}

/// Makes a version the realm's active one.
pub async fn activate(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, kind, version)): Path<(String, String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let caller = access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let kind = parse_kind(&kind)?;
    let version = parse_version(&version)?;
    find_realm(&state, &tenant, &realm).await?;
    let previous = state
        .store
        .activate(&tenant, &realm, kind, version, &Audit { actor: caller.actor(), at: now_millis() })
        .await?;
    Ok(Json(json!({ "kind": kind, "active": version, "previous": previous })))
}

/// Re-activates the version that was active before the current one.
pub async fn rollback(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
    Path((tenant, realm, kind)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let caller = access::tenant_caller(&state, token.as_deref(), &tenant, Need::Admin).await?;
    let kind = parse_kind(&kind)?;
    find_realm(&state, &tenant, &realm).await?;
    let (from, to) =
        state.store.rollback(&tenant, &realm, kind, &Audit { actor: caller.actor(), at: now_millis() }).await?;
    Ok(Json(json!({ "kind": kind, "active": to, "previous": from })))
}

/// Parses the `{version}` path segment.
pub fn parse_version(version: &str) -> Result<i64, ApiError> {
    version.parse().map_err(|_| ApiError::NotFound(format!("no version {version:?}: versions are numbers")))
}
