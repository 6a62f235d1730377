//! `/Users`: list and search, get, create, replace, patch, delete.

use axum::{
    Extension,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};

use super::{
    audit::Caller,
    error,
    http::{self, ScimBody, ScimResponse, deleted, if_match, query_pairs, require_version, selection},
};
use crate::service::{
    SharedState,
    provisioning::{
        resource::user_resource,
        user_changes::{self, Written},
    },
};
use muster_scim::{
    error::ScimError,
    filter::{Filter, IndexLookup, IndexedAttribute},
    list::{ListQuery, list_response},
    schema::ResourceType,
};
use muster_store::model::{Realm, UserRecord};

/// Users per store page when a filter has to look at every user.
const SCAN_PAGE: i64 = 1000;

/// `GET /Users`.
pub async fn list(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<ScimResponse, ScimError> {
    let pairs = query_pairs(query.as_deref())?;
    let query = ListQuery::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), ResourceType::User)?;
    search_users(&state, &caller.realm, &caller.base, query).await
}

/// `POST /Users/.search`.
pub async fn search(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let query = ListQuery::from_search_request(&body, ResourceType::User)?;
    search_users(&state, &caller.realm, &caller.base, query).await
}

/// Runs a list query over the realm's users.
pub async fn search_users(
    state: &SharedState,
    realm: &Realm,
    base: &str,
    query: ListQuery,
) -> Result<ScimResponse, ScimError> {
    let matching = matching_users(state, realm, base, query.filter.as_ref()).await?;
    let total = matching.len();
    let mut page = Vec::new();
    for user in matching.into_iter().skip(query.offset()).take(query.count) {
        page.push(query.selection.project(&user_changes::resource(state, &user, base).await?));
    }
    Ok(ScimResponse::ok(list_response(page, total, query.start_index)))
}

/// The realm's users matching `filter`: from the index when the filter names one user by id,
/// userName or externalId, else from every user.
pub async fn matching_users(
    state: &SharedState,
    realm: &Realm,
    base: &str,
    filter: Option<&Filter>,
) -> Result<Vec<UserRecord>, ScimError> {
    let candidates = match filter.and_then(Filter::index_lookup) {
        Some(lookup) => indexed(state, realm, &lookup).await?,
        None => every_user(state, realm).await?,
    };
    Ok(candidates
        .into_iter()
        .filter(|user| filter.is_none_or(|f| f.matches(&user_resource(user, &[], base))))
        .collect())
}

async fn indexed(state: &SharedState, realm: &Realm, lookup: &IndexLookup) -> Result<Vec<UserRecord>, ScimError> {
    let (tenant, realm_id, value) = (&realm.tenant_id, &realm.id, lookup.value.as_str());
    let found = match lookup.attribute {
        IndexedAttribute::Id => state.store.get_user(tenant, realm_id, value).await,
        IndexedAttribute::UserName => state.store.find_user_by_name(tenant, realm_id, value).await,
        IndexedAttribute::ExternalId => state.store.find_user_by_external_id(tenant, realm_id, value).await,
        IndexedAttribute::DisplayName => return every_user(state, realm).await,
    };
    Ok(found.map_err(error::store_failure)?.into_iter().collect())
}

async fn every_user(state: &SharedState, realm: &Realm) -> Result<Vec<UserRecord>, ScimError> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map(|user: &UserRecord| user.id.clone());
        let page = state
            .store
            .list_users(&realm.tenant_id, &realm.id, after.as_deref(), SCAN_PAGE)
            .await
            .map_err(error::store_failure)?;
        let done = (page.len() as i64) < SCAN_PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// `GET /Users/{id}`: a deactivated user too (`active: false`).
pub async fn get(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((_, _, id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<ScimResponse, ScimError> {
    let selection = selection(query.as_deref(), ResourceType::User)?;
    let user = user_changes::load(&state, &caller.realm, &id).await?;
    Ok(ScimResponse::resource(
        selection.project(&user_changes::resource(&state, &user, &caller.base).await?),
        user.version,
    ))
}

/// `POST /Users`.
pub async fn create(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let written = user_changes::create(&state, &caller.realm, &body, &caller.actor()).await?;
    answer(&state, &caller, written, StatusCode::CREATED).await
}

/// `PUT /Users/{id}`.
pub async fn replace(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((_, _, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let written =
        user_changes::replace(&state, &caller.realm, &id, &body, if_match(&headers)?, &caller.actor()).await?;
    answer(&state, &caller, written, StatusCode::OK).await
}

/// `PATCH /Users/{id}`.
pub async fn patch(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((_, _, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let written = user_changes::patch(&state, &caller.realm, &id, &body, if_match(&headers)?, &caller.actor()).await?;
    answer(&state, &caller, written, StatusCode::OK).await
}

/// `DELETE /Users/{id}`: gone for good (audited).
pub async fn delete(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((_, _, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let user = user_changes::load(&state, &caller.realm, &id).await?;
    require_version(&headers, &format!("user {id}"), user.version)?;
    user_changes::delete(&state, &caller.realm, &id, &caller.actor()).await?;
    Ok(deleted(id))
}

async fn answer(
    state: &SharedState,
    caller: &Caller,
    written: Written,
    status: StatusCode,
) -> Result<Response, ScimError> {
    let resource = user_changes::resource(state, &written.user, &caller.base).await?;
    Ok(http::written(resource, written.user.version, status == StatusCode::CREATED, written.user.id, written.changed))
}
