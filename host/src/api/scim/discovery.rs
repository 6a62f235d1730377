//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`, and the root `POST /.search`.

use super::{
    audit::Caller,
    group_endpoints::matching_groups,
    http::{ScimBody, ScimResponse},
    user_endpoints::matching_users,
};
use crate::service::{SharedState, provisioning::resource::user_resource};
use axum::{
    Extension,
    extract::{Path, State},
};
use muster_scim::{
    discovery,
    error::ScimError,
    list::{ListQuery, list_response},
    schema::{ALL_SCHEMAS, ResourceType},
};

/// `GET /ServiceProviderConfig`.
pub async fn service_provider_config(Extension(caller): Extension<Caller>) -> ScimResponse {
    ScimResponse::ok(discovery::service_provider_config(&caller.base))
}

/// `GET /ResourceTypes`.
pub async fn resource_types(Extension(caller): Extension<Caller>) -> ScimResponse {
    let documents = discovery::resource_type_documents(&caller.base);
    let total = documents.len();
    ScimResponse::ok(list_response(documents, total, 1))
}

/// `GET /ResourceTypes/{name}`.
pub async fn resource_type(
    Extension(caller): Extension<Caller>,
    Path((_, _, name)): Path<(String, String, String)>,
) -> Result<ScimResponse, ScimError> {
    let resource_type =
        ResourceType::from_name(&name).ok_or_else(|| ScimError::not_found(format!("no resource type {name}")))?;
    Ok(ScimResponse::ok(discovery::resource_type_document(resource_type, &caller.base)))
}

/// `GET /Schemas`.
pub async fn schemas(Extension(caller): Extension<Caller>) -> ScimResponse {
    let documents = discovery::schema_documents(&caller.base);
    let total = documents.len();
    ScimResponse::ok(list_response(documents, total, 1))
}

/// `GET /Schemas/{urn}`.
pub async fn schema(
    Extension(caller): Extension<Caller>,
    Path((_, _, id)): Path<(String, String, String)>,
) -> Result<ScimResponse, ScimError> {
    let schema = ALL_SCHEMAS
        .iter()
        .find(|schema| schema.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id}")))?;
    Ok(ScimResponse::ok(discovery::schema_document(schema, &caller.base)))
}

/// `POST /.search` at the root: users, then groups, matching the filter (a filter that only
/// one resource type can have searches that type only), with `attributes` applied per type.
pub async fn search(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let as_users = ListQuery::from_search_request(&body, ResourceType::User);
    let as_groups = ListQuery::from_search_request(&body, ResourceType::Group);
    if let (Err(error), Err(_)) = (&as_users, &as_groups) {
        return Err(error.clone().into());
    }
    let realm = &caller.realm;
    let base = &caller.base;
    let mut found = Vec::new();
    let mut page_of = None;
    if let Ok(query) = &as_users {
        for user in matching_users(&state, realm, base, query.filter.as_ref()).await? {
            found.push((ResourceType::User, user_resource(&user, &[], base)));
        }
        page_of = Some((query.start_index, query.count, query.offset()));
    }
    if let Ok(query) = &as_groups {
        for group in matching_groups(&state, realm, base, query.filter.as_ref()).await? {
            found.push((ResourceType::Group, group));
        }
        page_of = page_of.or(Some((query.start_index, query.count, query.offset())));
    }
    let (start_index, count, offset) = page_of.unwrap_or((1, 0, 0));
    let total = found.len();
    let page = found
        .into_iter()
        .skip(offset)
        .take(count)
        .map(|(resource_type, resource)| match (resource_type, &as_users, &as_groups) {
            (ResourceType::User, Ok(query), _) | (ResourceType::Group, _, Ok(query)) => {
                query.selection.project(&resource)
            }
            _ => resource,
        })
        .collect();
    Ok(ScimResponse::ok(list_response(page, total, start_index)))
}

/// The SCIM base URL itself (`…/v2`, `…/v2/`): RFC 7644 defines no resource there, and neither
/// Entra ID nor Okta asks for one, so a SCIM `404` that says where the resources are.
pub async fn base() -> ScimError {
    ScimError::not_found(
        "this is the realm's SCIM base URL, not a resource: users are at /Users, groups at /Groups, \
         the configuration at /ServiceProviderConfig, /ResourceTypes and /Schemas",
    )
}

/// Any other path under the SCIM base: a SCIM `404`.
pub async fn no_such_endpoint() -> ScimError {
    ScimError::not_found("no such SCIM endpoint: see /ServiceProviderConfig and /ResourceTypes")
}
