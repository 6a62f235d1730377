//! Request extractors whose rejections are [`ApiError`]s, so every failure has the API's JSON
//! error shape.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{
        HeaderMap, StatusCode,
        header::{CONTENT_TYPE, EXPECT},
        request::Parts,
    },
};
use futures_util::StreamExt as _;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::error::ApiError;

/// JSON body; malformed, mistyped or oversized bodies become 400 / 415 / 413 / 422 JSON errors.
///
/// Well-formed JSON of the wrong shape is always 422, even where `serde_json` reports it as a
/// syntax error (a number where an enum's string is expected); only text that is not JSON at
/// all is 400.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(not_json());
        }
        let body = body_bytes(request, state).await?;
        parse(&body).map(ApiJson)
    }
}

/// A JSON body that may be absent: an empty body gives the default value; a non-empty one is
/// treated exactly as [`ApiJson`].
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared_json = is_json(request.headers());
        let body = body_bytes(request, state).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        if !declared_json {
            return Err(not_json());
        }
        parse(&body).map(OptionalJson)
    }
}

/// Reads and throws away, chunk by chunk, up to `limit` bytes of a body the server will not use
/// (a refused request's), so that a client still sending it reads the answer instead of finding
/// the connection reset under it; nothing is kept, whatever the size. A client that asked
/// `Expect: 100-continue` has sent nothing yet and is not invited to: it gets the answer at once.
pub async fn discard_body(request: Request, limit: usize) {
    let waits_for_continue =
        request.headers().get(EXPECT).is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if waits_for_continue {
        return;
    }
    let mut chunks = request.into_body().into_data_stream();
    let mut read = 0usize;
    while let Some(Ok(chunk)) = chunks.next().await {
        read = read.saturating_add(chunk.len());
        if read > limit {
            break;
        }
    }
}

/// Whether the request declares a JSON body (`application/json` or `application/*+json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    }
}

fn not_json() -> ApiError {
    ApiError::UnsupportedMediaType("the body must be JSON (Content-Type: application/json)".into())
}

async fn body_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("the body is larger than this route accepts".into())
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })
}

/// The body as `T`. The body must be a JSON object (every JSON body of the API is one: an array
/// is refused, even where `serde` would read a struct from one), and a number with a zero
/// fraction (`1.0`) is the integer it equals, as JSON Schema and `docs/openapi.json` say.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let not_an_object =
        || ApiError::Unprocessable("the JSON body does not have the expected shape: it must be an object".into());
    let error = match serde_json::from_slice::<T>(body) {
        // It parsed, so it is one JSON value: an object if and only if it opens with a brace.
        Ok(parsed) if body.trim_ascii_start().starts_with(b"{") => return Ok(parsed),
        Ok(_) => return Err(not_an_object()),
        Err(error) => error,
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Err(ApiError::BadRequest(format!("the body is not valid JSON: {error}")));
    };
    if !value.is_object() {
        return Err(not_an_object());
    }
    whole_numbers_as_integers(&value)
        .and_then(|normalized| T::deserialize(normalized).ok())
        .ok_or_else(|| ApiError::Unprocessable(format!("the JSON body does not have the expected shape: {error}")))
}

/// `value` with every number that has a zero fraction and fits an `i64` (`1.0`, `-3e2`) made
/// that integer, or `None` when it has no such number.
fn whole_numbers_as_integers(value: &Value) -> Option<Value> {
    fn walk(value: &Value, changed: &mut bool) -> Value {
        match value {
            Value::Number(number) if number.is_f64() => match number.as_f64().and_then(whole) {
                Some(integer) => {
                    *changed = true;
                    Value::from(integer)
                }
                None => value.clone(),
            },
            Value::Array(items) => Value::Array(items.iter().map(|item| walk(item, changed)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), walk(v, changed))).collect()),
            other => other.clone(),
        }
    }
    let mut changed = false;
    let normalized = walk(value, &mut changed);
    changed.then_some(normalized)
}

/// The `i64` that `number` equals, if it has one.
fn whole(number: f64) -> Option<i64> {
    // `i64::MAX as f64` is 2^63, just past the range: the range is half-open.
    let in_range = (i64::MIN as f64..i64::MAX as f64).contains(&number);
    (in_range && number.fract() == 0.0).then_some(number as i64)
}

/// Deserializes a nested object field as `T`, refusing a JSON array (which `serde` would
/// otherwise read as a struct's fields in order): `#[serde(deserialize_with = "object")]`.
pub fn object<'de, D: serde::Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<T, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if !value.is_object() {
        return Err(serde::de::Error::invalid_type(serde::de::Unexpected::Other("a non-object"), &"an object"));
    }
    T::deserialize(value).map_err(serde::de::Error::custom)
}

/// Query string; a malformed one becomes a 400 JSON error.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// The client's address: the connection's peer ([`axum::extract::ConnectInfo`], which the
/// server's accept loop attaches), or the unspecified address for a request that came another
/// way.
pub struct Peer(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>();
        Ok(Peer(peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())))
    }
}

/// The bearer token of the `Authorization` header, if any.
pub struct Bearer(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(|token| token.trim().to_owned());
        Ok(Bearer(token))
    }
}
