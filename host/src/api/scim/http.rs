//! SCIM request and response plumbing: the JSON body (`application/scim+json` or
//! `application/json`), query pairs, `If-Match`, and responses with
//! the SCIM media type and `ETag`.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::audit::Changed;
use crate::service::provisioning::resource::etag;
use muster_scim::{
    SCIM_CONTENT_TYPE,
    error::{ScimError, ScimType},
    projection::AttributeSelection,
    schema::ResourceType,
};

/// A SCIM request body: a JSON document sent as `application/scim+json` or `application/json`.
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared =
            request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(|v| v.to_ascii_lowercase());
        let is_json = declared.as_deref().is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or_default().trim();
            essence == "application/json" || essence == SCIM_CONTENT_TYPE
        });
        if !is_json {
            return Err(ScimError {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                scim_type: None,
                detail: format!("send the body as {SCIM_CONTENT_TYPE} (or application/json)"),
            });
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::payload_too_large("the body is larger than 1 MiB")
            } else {
                ScimError::bad_request(ScimType::InvalidSyntax, format!("cannot read the body: {rejection}"))
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(ScimBody)
            .map_err(|e| ScimError::bad_request(ScimType::InvalidSyntax, format!("the body is not valid JSON: {e}")))
    }
}

/// A SCIM answer: status, resource (or message), and the resource's version as `ETag`.
pub struct ScimResponse {
    status: StatusCode,
    body: Value,
    version: Option<i64>,
    location: Option<String>,
}

impl ScimResponse {
    /// `200` with a message or list.
    pub fn ok(body: Value) -> Self {
        Self { status: StatusCode::OK, body, version: None, location: None }
    }

    /// `200` with a resource at `version`.
    pub fn resource(body: Value, version: i64) -> Self {
        Self { status: StatusCode::OK, body, version: Some(version), location: None }
    }

    /// `201` with the new resource, its version and its location.
    pub fn created(body: Value, version: i64) -> Self {
        let location = body.pointer("/meta/location").and_then(Value::as_str).map(str::to_owned);
        Self { status: StatusCode::CREATED, body, version: Some(version), location }
    }
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
        if let Some(version) = self.version.and_then(|v| HeaderValue::from_str(&etag(v)).ok()) {
            headers.insert(header::ETAG, version);
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

/// The query string as decoded name–value pairs (`400 invalidSyntax` if it cannot be decoded).
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ScimError> {
    serde_urlencoded::from_str(query.unwrap_or_default()).map_err(|e| {
        ScimError::bad_request(ScimType::InvalidSyntax, format!("the query string cannot be decoded: {e}"))
    })
}

/// The value of query parameter `name` (case-insensitive).
pub fn query_value<'q>(pairs: &'q [(String, String)], name: &str) -> Option<&'q str> {
    pairs.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
}

/// The version `If-Match` requires, if the header is present and names one.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ScimError> {
    match headers.get(header::IF_MATCH).map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(text)) => if_match_version(text),
        Some(Err(_)) => Err(ScimError::precondition_failed("If-Match is not readable text")),
    }
}

/// The `attributes` / `excludedAttributes` of a `GET` of one resource.
pub fn selection(query: Option<&str>, resource_type: ResourceType) -> Result<AttributeSelection, ScimError> {
    let pairs = query_pairs(query)?;
    Ok(AttributeSelection::from_query(
        query_value(&pairs, "attributes"),
        query_value(&pairs, "excludedAttributes"),
        resource_type,
    )?)
}

/// The version an `If-Match` header names: `None` for `*`; `Err` for a header that names no
/// version of ours (it can never match: 412).
fn if_match_version(header: &str) -> Result<Option<i64>, ScimError> {
    let header = header.trim();
    if header == "*" {
        return Ok(None);
    }
    header
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| ScimError::precondition_failed(format!("If-Match {header} names no version of this resource")))
}

/// `412` unless `If-Match` is absent or names `version` of the resource `what`.
pub fn require_version(headers: &HeaderMap, what: &str, version: i64) -> Result<(), ScimError> {
    match if_match(headers)? {
        Some(expected) if expected != version => {
            Err(ScimError::precondition_failed(format!("{what} is at version W/\"{version}\", not W/\"{expected}\"")))
        }
        _ => Ok(()),
    }
}

/// The answer to a write: the resource at its new version (`201` with `Location` when
/// created), carrying what changed for the audit entry.
pub fn written(resource: Value, version: i64, created: bool, target: String, changed: Vec<String>) -> Response {
    let body =
        if created { ScimResponse::created(resource, version) } else { ScimResponse::resource(resource, version) };
    let mut response = body.into_response();
    response.extensions_mut().insert(Changed { target, attributes: changed });
    response
}

/// The answer to a `DELETE`: `204`, carrying the deleted id for the audit entry.
pub fn deleted(id: String) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(Changed { target: id, attributes: vec!["(deleted)".into()] });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_our_etags_and_star() {
        assert_eq!(if_match_version("W/\"7\"").unwrap(), Some(7));
        assert_eq!(if_match_version("\"7\"").unwrap(), Some(7));
        assert_eq!(if_match_version("*").unwrap(), None);
        assert!(if_match_version("W/\"abc\"").is_err());
    }
}
