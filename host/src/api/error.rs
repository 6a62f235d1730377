//! The one error type of the HTTP API: a status and a JSON body
//! `{"error": {"code": "not_found", "message": "…"}}`.

use std::time::Duration;

use axum::{
    Json,
    http::{
        HeaderValue, StatusCode,
        header::{CONTENT_TYPE, RETRY_AFTER},
    },
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::service::{
    compiles::BusyScope,
    error::{ServiceError, SettingsRefusal},
    settings_schema::NamedOrganization,
};
use muster_store::StoreError;

/// An API failure a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no credentials, or credentials that are not valid.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: valid credentials that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing (for this tenant).
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists, but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 408: the request was not completed within the server's `request_timeout`.
    #[error("{0}")]
    RequestTimeout(String),
    /// 409: it conflicts with what exists.
    #[error("{0}")]
    Conflict(String),
    /// 429: too many failed authentications (or token requests); `Retry-After` says when to
    /// try again.
    #[error("{message}")]
    RateLimited {
        /// What was refused, and when to retry.
        message: String,
        /// Seconds until the client may try again.
        retry_after_secs: u64,
    },
    /// 413: the body is too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed but refused (a module or settings document that does not validate).
    #[error("{0}")]
    Unprocessable(String),
    /// 422: a settings document the module refuses; the body's `path` names the problem in the
    /// author's own document (`rules[2].when.all[0].attribute.in`; empty for the whole document).
    #[error("{message}")]
    InvalidSettings {
        /// What is wrong, and where.
        message: String,
        /// Where, in the author's document.
        path: String,
        /// Organizations the document names that the tenant does not have, with their paths.
        unknown_organizations: Vec<NamedOrganization>,
    },
    /// 422 `rules_failed`: the realm's rules failed on this user; nothing was applied. A live
    /// decision's failure is recorded, and the body names its record (`decision_id`).
    #[error("{message}")]
    RulesFailed {
        /// What failed.
        message: String,
        /// The decision record of the failure.
        decision_id: Option<String>,
    },
    /// 409, or 429 with `Retry-After` when waiting frees the quota (uploads per hour): storing
    /// it would exceed one of the tenant's quotas.
    #[error("{message}")]
    QuotaExceeded {
        /// Which quota, and by how much.
        message: String,
        /// How long until the quota frees itself, if it does.
        retry_after: Option<std::time::Duration>,
    },
    /// 429: the caller's tenant has as much of this work in flight as it may; retry after the
    /// duration (sent as `Retry-After`).
    #[error("{0}")]
    TooManyRequests(String, Duration),
    /// 503: the server has as much of this work in flight as it can; retry after the duration
    /// (sent as `Retry-After`).
    #[error("{0}")]
    Unavailable(String, Duration),
    /// 500: our fault; the message is logged, the client sees a generic one.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::Unprocessable(_) | ApiError::InvalidSettings { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable")
            }
            ApiError::RulesFailed { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "rules_failed"),
            ApiError::QuotaExceeded { retry_after: None, .. } => (StatusCode::CONFLICT, "quota_exceeded"),
            ApiError::QuotaExceeded { retry_after: Some(_), .. } => (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"),
            ApiError::TooManyRequests(..) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::Unavailable(..) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// A 500 from any error, keeping its message for the log.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        ApiError::Internal(error.to_string())
    }
}

impl From<ServiceError> for ApiError {
    /// The JSON API's answer to each service failure: the one place it is decided.
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Unauthenticated(detail) => ApiError::Unauthorized(detail),
            limited @ ServiceError::RateLimited { retry_after, .. } => {
                ApiError::RateLimited { message: limited.to_string(), retry_after_secs: retry_after_secs(retry_after) }
            }
            ServiceError::Forbidden(detail) => ApiError::Forbidden(detail),
            ServiceError::NotFound(detail) => ApiError::NotFound(detail),
            ServiceError::Conflict(detail) => ApiError::Conflict(detail),
            ServiceError::VersionMismatch { what, expected, actual } => ApiError::Conflict(format!(
                "{what} was changed concurrently (it is at version {actual}, not {expected}); retry"
            )),
            ServiceError::Malformed(detail) => ApiError::BadRequest(detail),
            ServiceError::Patch(patch) => ApiError::BadRequest(patch.to_string()),
            ServiceError::InvalidValue(detail) => ApiError::Unprocessable(detail),
            ServiceError::InvalidSettings(refusal) => {
                let message = refusal.to_string();
                let SettingsRefusal { path, unknown_organizations, .. } = refusal;
                ApiError::InvalidSettings { message, path, unknown_organizations }
            }
            ServiceError::RulesFailed { error, decision_id } => {
                ApiError::RulesFailed { message: format!("the realm's rules failed: {error}"), decision_id }
            }
            ServiceError::QuotaExceeded(quota) => {
                ApiError::QuotaExceeded { message: quota.to_string(), retry_after: quota.retry_after() }
            }
            ServiceError::Busy { scope: BusyScope::Tenant, message, retry_after } => {
                ApiError::TooManyRequests(message, retry_after)
            }
            ServiceError::Busy { scope: BusyScope::Server, message, retry_after } => {
                ApiError::Unavailable(message, retry_after)
            }
            ServiceError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<StoreError> for ApiError {
    /// A store failure of a handler's read, answered as the service would report it.
    fn from(error: StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

/// A wait as `Retry-After` seconds: rounded up, at least one.
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs().saturating_add(u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The code of an error response, attached to it for the metrics middleware.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error; see the server log".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({ "error": { "code": code, "message": message } });
        match &self {
            ApiError::RulesFailed { decision_id: Some(id), .. } => body["error"]["decision_id"] = json!(id),
            ApiError::InvalidSettings { path, unknown_organizations, .. } => {
                body["error"]["path"] = json!(path);
                if !unknown_organizations.is_empty() {
                    let named =
                        unknown_organizations.iter().map(|n| json!({ "organization": n.organization, "path": n.path }));
                    body["error"]["unknown_organizations"] = named.collect();
                }
            }
            _ => {}
        }
        let mut response = (status, Json(body)).into_response();
        match &self {
            ApiError::RateLimited { retry_after_secs, .. } => {
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::TooManyRequests(_, wait)
            | ApiError::Unavailable(_, wait)
            | ApiError::QuotaExceeded { retry_after: Some(wait), .. } => {
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after_secs(*wait)));
            }
            _ => {}
        }
        response.extensions_mut().insert(ErrorCode(code));
        response
    }
}

/// Gives every error response the JSON shape, including the plain-text rejections axum makes
/// before a handler runs (an id that is not valid UTF-8 in the path, …).
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(|value| {
        value.starts_with("application/json") || value.starts_with(muster_scim::SCIM_CONTENT_TYPE)
    });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (_, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text };
    let error = match status {
        StatusCode::BAD_REQUEST => ApiError::BadRequest(message),
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message),
        StatusCode::FORBIDDEN => ApiError::Forbidden(message),
        StatusCode::NOT_FOUND => ApiError::NotFound(message),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(message),
        StatusCode::REQUEST_TIMEOUT => ApiError::RequestTimeout(format!(
            "{message}: the request was not completed within the server's request timeout"
        )),
        StatusCode::CONFLICT => ApiError::Conflict(message),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(message),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(message),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Unprocessable(message),
        status if status.is_server_error() => ApiError::Internal(message),
        status => return (status, Json(json!({ "error": { "code": "error", "message": message } }))).into_response(),
    };
    error.into_response()
}
