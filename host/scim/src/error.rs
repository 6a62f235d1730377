//! The SCIM error response (RFC 7644 §3.12): an HTTP status, an optional `scimType` and a
//! detail, sent as `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"], "status":"400",
//! "scimType":"invalidFilter", "detail":"…"}` with the `application/scim+json` content type.

use axum::{
    http::{
        HeaderValue, StatusCode,
        header::{CONTENT_TYPE, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value};

use super::SCIM_CONTENT_TYPE;
use super::filter::FilterError;
use super::list::ListError;
use super::patch::PatchError;
use super::path::PathError;
use super::projection::SelectionError;

/// URN of the error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// What a client sees instead of the detail of a 5xx error (which is logged).
const INTERNAL_DETAIL: &str = "internal error; see the server log";

/// The `scimType` of a 400 (or 409) error (RFC 7644 §3.12, Table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter is malformed, or compares an attribute in a way it does not support.
    InvalidFilter,
    /// The filter matches more resources than the service provider will process.
    TooMany,
    /// A unique attribute value is already taken.
    Uniqueness,
    /// An attempt to change a readOnly or immutable attribute, or to remove a required one.
    Mutability,
    /// The request body is not a valid SCIM message.
    InvalidSyntax,
    /// A PATCH `path` is malformed or names no attribute.
    InvalidPath,
    /// A PATCH path with a value filter matched nothing.
    NoTarget,
    /// A value is missing or has the wrong type.
    InvalidValue,
    /// The SCIM protocol version is not supported.
    InvalidVers,
    /// The request carries information that must not be in a URI (such as a filter on a
    /// password).
    Sensitive,
}

impl ScimType {
    /// The keyword RFC 7644 gives the type.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// A SCIM failure, answered with the RFC 7644 §3.12 error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct ScimError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The SCIM error keyword, for the 400 and 409 errors that have one.
    pub scim_type: Option<ScimType>,
    /// What went wrong, for the client (for 5xx errors: for the log only).
    pub detail: String,
}

impl ScimError {
    /// 400 with a `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError { status: StatusCode::BAD_REQUEST, scim_type: Some(scim_type), detail: detail.into() }
    }

    /// 401: no credentials, or credentials that are not valid.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ScimError { status: StatusCode::UNAUTHORIZED, scim_type: None, detail: detail.into() }
    }

    /// 404: no such resource (for this tenant).
    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError { status: StatusCode::NOT_FOUND, scim_type: None, detail: detail.into() }
    }

    /// 409 `uniqueness`: a unique attribute value (such as a `userName`) is already taken.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError { status: StatusCode::CONFLICT, scim_type: Some(ScimType::Uniqueness), detail: detail.into() }
    }

    /// 412: the `If-Match` `ETag` does not match the resource's current version.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        ScimError { status: StatusCode::PRECONDITION_FAILED, scim_type: None, detail: detail.into() }
    }

    /// 413: the request body is too large.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        ScimError { status: StatusCode::PAYLOAD_TOO_LARGE, scim_type: None, detail: detail.into() }
    }

    /// 500 from any error: the message is logged when the response is built, the client sees a
    /// generic detail.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        ScimError { status: StatusCode::INTERNAL_SERVER_ERROR, scim_type: None, detail: error.to_string() }
    }

    /// The RFC 7644 §3.12 body: `status` as a string, `scimType` only when there is one, and a
    /// generic `detail` for 5xx errors.
    pub fn to_body(&self) -> Value {
        let detail = if self.status.is_server_error() { INTERNAL_DETAIL } else { self.detail.as_str() };
        let mut body = Map::new();
        body.insert("schemas".to_owned(), Value::from(vec![ERROR_SCHEMA]));
        body.insert("status".to_owned(), Value::from(self.status.as_u16().to_string()));
        if let Some(scim_type) = self.scim_type {
            body.insert("scimType".to_owned(), Value::from(scim_type.as_str()));
        }
        body.insert("detail".to_owned(), Value::from(detail));
        Value::Object(body)
    }
}

/// The detail of a SCIM error, attached to its response for the audit log (server errors carry
/// the real detail here, never in the body).
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(error = %self.detail, "SCIM request failed");
        }
        let mut response = (self.status, self.to_body().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a 401 to a bearer-token request names the scheme.
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response.extensions_mut().insert(ErrorDetail(self.detail));
        response
    }
}

/// 400 `invalidFilter`.
impl From<FilterError> for ScimError {
    fn from(error: FilterError) -> Self {
        ScimError::bad_request(ScimType::InvalidFilter, error.to_string())
    }
}

/// 400 `invalidPath`.
impl From<PathError> for ScimError {
    fn from(error: PathError) -> Self {
        ScimError::bad_request(ScimType::InvalidPath, error.to_string())
    }
}

/// 400 with the `scimType` the variant names.
impl From<PatchError> for ScimError {
    fn from(error: PatchError) -> Self {
        let scim_type = match &error {
            PatchError::InvalidSyntax(_) => ScimType::InvalidSyntax,
            PatchError::InvalidPath(_) => ScimType::InvalidPath,
            PatchError::InvalidValue(_) => ScimType::InvalidValue,
            PatchError::NoTarget(_) => ScimType::NoTarget,
            PatchError::Mutability(_) => ScimType::Mutability,
        };
        ScimError::bad_request(scim_type, error.to_string())
    }
}

/// 400 `invalidValue`.
impl From<SelectionError> for ScimError {
    fn from(error: SelectionError) -> Self {
        ScimError::bad_request(ScimType::InvalidValue, error.to_string())
    }
}

/// 400: `invalidFilter` for the filter, `invalidSyntax` for a malformed search body,
/// `invalidValue` for the other parameters.
impl From<ListError> for ScimError {
    fn from(error: ListError) -> Self {
        let scim_type = match &error {
            ListError::Filter(_) => ScimType::InvalidFilter,
            ListError::InvalidSearchRequest(_) => ScimType::InvalidSyntax,
            ListError::NotAnInteger { .. } | ListError::Repeated(_) | ListError::Selection(_) => ScimType::InvalidValue,
        };
        ScimError::bad_request(scim_type, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::ResourceType;

    async fn response_parts(error: ScimError) -> (StatusCode, String, Option<String>, Value) {
        let response = error.into_response();
        let status = response.status();
        let header = |name| response.headers().get(name).map(|value: &HeaderValue| value.to_str().unwrap().to_owned());
        let content_type = header(CONTENT_TYPE).unwrap();
        let authenticate = header(WWW_AUTHENTICATE);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, content_type, authenticate, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn uniqueness_conflict_renders_the_rfc_body_with_a_string_status() {
        let error = ScimError::uniqueness("userName \"bjensen@example.com\" is already taken");
        let (status, content_type, authenticate, body) = response_parts(error).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(content_type, "application/scim+json");
        assert_eq!(authenticate, None);
        assert_eq!(
            body,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "409",
                "scimType": "uniqueness",
                "detail": "userName \"bjensen@example.com\" is already taken",
            })
        );
    }

    #[tokio::test]
    async fn errors_without_a_type_omit_scim_type() {
        let (status, _, _, body) = response_parts(ScimError::not_found("no User with id 2819c223")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "404",
                "detail": "no User with id 2819c223",
            })
        );
    }

    #[tokio::test]
    async fn unauthorized_names_the_bearer_scheme() {
        let (status, _, authenticate, body) = response_parts(ScimError::unauthorized("missing bearer token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(authenticate.as_deref(), Some("Bearer"));
        assert_eq!(body["status"], "401");
    }

    #[tokio::test]
    async fn internal_errors_hide_their_detail() {
        let (status, _, _, body) = response_parts(ScimError::internal("connection refused (os error 111)")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["status"], "500");
        assert_eq!(body["detail"], INTERNAL_DETAIL);
    }

    #[test]
    fn protocol_errors_convert_with_their_scim_type() {
        let filter_error = crate::filter::Filter::parse("userName eq", ResourceType::User).unwrap_err();
        let error = ScimError::from(filter_error);
        assert_eq!((error.status, error.scim_type), (StatusCode::BAD_REQUEST, Some(ScimType::InvalidFilter)));
        assert_eq!(
            error.detail,
            "expected a value (a string in double quotes, a number, true, false or null), found the end of the input (at position 11)"
        );

        let path_error =
            crate::path::PatchPath::parse("emails[type eq \"work\"].label", ResourceType::User).unwrap_err();
        let error = ScimError::from(path_error);
        assert_eq!(error.scim_type, Some(ScimType::InvalidPath));
        assert_eq!(
            error.detail,
            "invalid path 'emails[type eq \"work\"].label': 'emails' has no sub-attribute 'label'"
        );

        let cases = [
            (PatchError::InvalidSyntax("x".into()), ScimType::InvalidSyntax),
            (PatchError::InvalidPath("x".into()), ScimType::InvalidPath),
            (PatchError::InvalidValue("x".into()), ScimType::InvalidValue),
            (PatchError::NoTarget("x".into()), ScimType::NoTarget),
            (PatchError::Mutability("x".into()), ScimType::Mutability),
        ];
        for (patch_error, scim_type) in cases {
            assert_eq!(ScimError::from(patch_error).scim_type, Some(scim_type));
        }

        let list_error = ListError::NotAnInteger { parameter: "count", value: "\"ten\"".into() };
        assert_eq!(ScimError::from(list_error).scim_type, Some(ScimType::InvalidValue));
        let list_error = ListError::InvalidSearchRequest("the search body must be a JSON object".into());
        assert_eq!(ScimError::from(list_error).scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn constructors_set_status_and_type() {
        let cases = [
            (ScimError::bad_request(ScimType::InvalidVers, "SCIM 1.1 is not supported"), 400, Some("invalidVers")),
            (ScimError::precondition_failed("ETag W/\"3\" does not match W/\"4\""), 412, None),
            (ScimError::payload_too_large("the body is over 1 MiB"), 413, None),
        ];
        for (error, status, scim_type) in cases {
            assert_eq!(error.status.as_u16(), status);
            assert_eq!(error.scim_type.map(ScimType::as_str), scim_type);
            assert_eq!(error.to_body()["status"], status.to_string());
        }
    }
}
