//! `/Groups`: list and search, get, create, replace, patch, delete. Entra checks a membership
//! with `filter=id eq "…" and members.value eq "…"`: answered from the index, then filtered.

use axum::{
    Extension,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};

use serde_json::Value;

use super::{
    audit::Caller,
    error,
    http::{self, ScimBody, ScimResponse, deleted, if_match, query_pairs, require_version, selection},
};
use crate::service::{
    SharedState,
    provisioning::group_changes::{self, Written},
};
use muster_scim::{
    error::ScimError,
    filter::{Filter, IndexLookup, IndexedAttribute},
    list::{ListQuery, list_response},
    schema::ResourceType,
};
use muster_store::model::{Realm, ScimGroup};

/// Groups per store page when a filter has to look at every group.
const SCAN_PAGE: i64 = 1000;

/// `GET /Groups`.
pub async fn list(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<ScimResponse, ScimError> {
    let pairs = query_pairs(query.as_deref())?;
    let query = ListQuery::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), ResourceType::Group)?;
    search_groups(&state, &caller.realm, &caller.base, query).await
}

/// `POST /Groups/.search`.
pub async fn search(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let query = ListQuery::from_search_request(&body, ResourceType::Group)?;
    search_groups(&state, &caller.realm, &caller.base, query).await
}

/// Runs a list query over the realm's groups.
pub async fn search_groups(
    state: &SharedState,
    realm: &Realm,
    base: &str,
    query: ListQuery,
) -> Result<ScimResponse, ScimError> {
    let matching = matching_groups(state, realm, base, query.filter.as_ref()).await?;
    let total = matching.len();
    let page =
        matching.into_iter().skip(query.offset()).take(query.count).map(|r| query.selection.project(&r)).collect();
    Ok(ScimResponse::ok(list_response(page, total, query.start_index)))
}

/// The realm's groups matching `filter`, as resources with their members.
pub async fn matching_groups(
    state: &SharedState,
    realm: &Realm,
    base: &str,
    filter: Option<&Filter>,
) -> Result<Vec<Value>, ScimError> {
    let candidates = match filter.and_then(Filter::index_lookup) {
        Some(lookup) => indexed(state, realm, &lookup).await?,
        None => every_group(state, realm).await?,
    };
    let mut matching = Vec::new();
    for group in candidates {
        let resource = group_changes::resource(state, &group, base).await?;
        if filter.is_none_or(|f| f.matches(&resource)) {
            matching.push(resource);
        }
    }
    Ok(matching)
}

async fn indexed(state: &SharedState, realm: &Realm, lookup: &IndexLookup) -> Result<Vec<ScimGroup>, ScimError> {
    let (tenant, realm_id, value) = (&realm.tenant_id, &realm.id, lookup.value.as_str());
    let found = match lookup.attribute {
        IndexedAttribute::Id => state.store.get_scim_group(tenant, realm_id, value).await,
        IndexedAttribute::DisplayName => state.store.find_scim_group_by_display_name(tenant, realm_id, value).await,
        IndexedAttribute::ExternalId => state.store.find_scim_group_by_external_id(tenant, realm_id, value).await,
        IndexedAttribute::UserName => return Ok(Vec::new()),
    };
    Ok(found.map_err(error::store_failure)?.into_iter().collect())
}

async fn every_group(state: &SharedState, realm: &Realm) -> Result<Vec<ScimGroup>, ScimError> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map(|group: &ScimGroup| group.id.clone());
        let page = state
            .store
            .list_scim_groups(&realm.tenant_id, &realm.id, after.as_deref(), SCAN_PAGE)
            .await
            .map_err(error::store_failure)?;
        let done = (page.len() as i64) < SCAN_PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// `GET /Groups/{id}`.
pub async fn get(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((_, _, id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<ScimResponse, ScimError> {
    let selection = selection(query.as_deref(), ResourceType::Group)?;
    let group = group_changes::load(&state, &caller.realm, &id).await?;
    Ok(ScimResponse::resource(
        selection.project(&group_changes::resource(&state, &group, &caller.base).await?),
        group.version,
    ))
}

/// `POST /Groups`.
pub async fn create(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let written = group_changes::create(&state, &caller.realm, &body, &caller.actor()).await?;
    answer(&state, &caller, written, StatusCode::CREATED).await
}

/// `PUT /Groups/{id}`.
pub async fn replace(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((_, _, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let written =
        group_changes::replace(&state, &caller.realm, &id, &body, if_match(&headers)?, &caller.actor()).await?;
    answer(&state, &caller, written, StatusCode::OK).await
}

/// `PATCH /Groups/{id}`.
pub async fn patch(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((_, _, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let written = group_changes::patch(&state, &caller.realm, &id, &body, if_match(&headers)?, &caller.actor()).await?;
    answer(&state, &caller, written, StatusCode::OK).await
}

/// `DELETE /Groups/{id}`.
pub async fn delete(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((_, _, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let group = group_changes::load(&state, &caller.realm, &id).await?;
    require_version(&headers, &format!("group {id}"), group.version)?;
    group_changes::delete(&state, &caller.realm, &id, &caller.actor()).await?;
    Ok(deleted(id))
}

async fn answer(
    state: &SharedState,
    caller: &Caller,
    written: Written,
    status: StatusCode,
) -> Result<Response, ScimError> {
    let resource = group_changes::resource(state, &written.group, &caller.base).await?;
    Ok(http::written(resource, written.group.version, status == StatusCode::CREATED, written.group.id, written.changed))
}
