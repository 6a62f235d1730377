//! The admin commands' HTTP client: one blocking request per call, the admin key as a bearer
//! token, and every way a request can go wrong mapped to a [`Failure`] with its exit code.

use std::{path::Path, time::Duration};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// The largest answer read: a page of decision records, each up to a few MiB, fits.
const MAX_ANSWER_BYTES: u64 = 256 << 20;

/// What a path segment may hold unescaped: letters, digits, `-`, `_` and `~` (a `.` is escaped,
/// so no id can be read as `.` or `..`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// Why an admin command failed, each with the exit code scripts can rely on.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command cannot run as given: a bad argument, no admin key, an input file that cannot
    /// be read or is not JSON (exit 2, as clap's own usage errors).
    #[error("{0}")]
    Usage(String),
    /// The server refused the request: a 4xx answer, with the API's error code and message
    /// (exit 1).
    #[error("{code}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The API's `error.code` (`unauthorized`, `not_found`, …).
        code: String,
        /// The API's `error.message`.
        message: String,
    },
    /// The server could not be reached, did not answer in time, failed (5xx) or answered
    /// something that is not the API's JSON (exit 3).
    #[error("{0}")]
    Unavailable(String),
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Refused { .. } => 1,
            Failure::Usage(_) => 2,
            Failure::Unavailable(_) => 3,
        }
    }
}

/// A successful (2xx) answer: its text exactly as sent, and that text parsed.
#[derive(Debug)]
pub struct Answer {
    /// The body, unchanged (what `--json` prints).
    pub text: String,
    /// The body as JSON (`null` when empty).
    pub json: Value,
}

/// A client of one Muster server, authenticated with one admin key.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    authorization: String,
    timeout: Duration,
}

impl Client {
    /// A client of the server at `base` (`http://…` or `https://…`), giving up on a request
    /// after `timeout`.
    pub fn new(base: &str, token: &str, timeout: Duration) -> Result<Client, Failure> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::Usage(format!("--server {base:?} is not an http:// or https:// URL")));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .user_agent(concat!("muster/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Client { agent, base: base.to_owned(), authorization: format!("Bearer {token}"), timeout })
    }

    /// `GET path` (a path built by [`path`], with its query string if any).
    pub fn get(&self, path: &str) -> Result<Answer, Failure> {
        self.send("GET", path, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Answer, Failure> {
        self.send("POST", path, Some(body))
    }

    /// `POST path` without a body.
    pub fn post_empty(&self, path: &str) -> Result<Answer, Failure> {
        self.send("POST", path, None)
    }

    /// `PUT path` with a JSON body.
    pub fn put(&self, path: &str, body: &Value) -> Result<Answer, Failure> {
        self.send("PUT", path, Some(body))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<Answer, Failure> {
        self.send("DELETE", path, None)
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, Failure> {
        let url = format!("{}{path}", self.base);
        let builder = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", &self.authorization)
            .header("accept", "application/json");
        let request = match body {
            Some(body) => builder.header("content-type", "application/json").body(body.to_string().into_bytes()),
            None => builder.body(Vec::new()),
        }
        .map_err(|error| Failure::Usage(format!("--server {}: {error}", self.base)))?;
        let response = self.agent.run(request).map_err(|error| self.transport(error))?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|error| Failure::Unavailable(format!("cannot read the answer to {method} {url}: {error}")))?;
        answer(status, text, || format!("{method} {url}"))
    }

    /// A request that got no HTTP answer.
    fn transport(&self, error: ureq::Error) -> Failure {
        match error {
            ureq::Error::Timeout(_) => Failure::Unavailable(format!(
                "no answer from {} within {} (--timeout)",
                self.base,
                humantime::format_duration(self.timeout)
            )),
            ureq::Error::BadUri(detail) => Failure::Usage(format!("--server {}: {detail}", self.base)),
            other => Failure::Unavailable(format!("cannot reach {}: {other}", self.base)),
        }
    }
}

/// Maps an HTTP answer to the command's outcome: a 2xx with a JSON body is an [`Answer`], a
/// 4xx the server's refusal, anything else a failed server.
fn answer(status: u16, text: String, request: impl Fn() -> String) -> Result<Answer, Failure> {
    let parsed = if text.trim().is_empty() { Ok(Value::Null) } else { serde_json::from_str::<Value>(&text) };
    match status {
        200..=299 => match parsed {
            Ok(json) => Ok(Answer { text, json }),
            Err(error) => Err(Failure::Unavailable(format!("the answer to {} is not JSON: {error}", request()))),
        },
        400..=499 => {
            let error = parsed.ok().map(|json| json["error"].clone()).unwrap_or_default();
            match (error["code"].as_str(), error["message"].as_str()) {
                (Some(code), Some(message)) => {
                    Err(Failure::Refused { status, code: code.to_owned(), message: message.to_owned() })
                }
                _ => Err(Failure::Refused { status, code: format!("HTTP {status}"), message: excerpt(&text) }),
            }
        }
        _ => {
            let error = parsed.ok().map(|json| json["error"]["message"].clone()).unwrap_or_default();
            let detail = error.as_str().map_or_else(|| excerpt(&text), str::to_owned);
            Err(Failure::Unavailable(format!("the server failed {} with HTTP {status}: {detail}", request())))
        }
    }
}

/// The start of a body that is not the API's JSON, for an error line.
fn excerpt(text: &str) -> String {
    let first = text.trim().lines().next().unwrap_or("(empty answer)");
    match first.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &first[..cut]),
        None => first.to_owned(),
    }
}

/// An absolute path of the API from its segments, each percent-encoded:
/// `path(&["v1", "tenants", "demo"])` is `/v1/tenants/demo`.
pub fn path(segments: &[&str]) -> String {
    segments.iter().map(|segment| format!("/{}", utf8_percent_encode(segment, SEGMENT))).collect()
}

/// A JSON object of the fields that are given (`None`: left out): the body of a request whose
/// fields are all optional.
pub fn fields<'a>(fields: impl IntoIterator<Item = (&'a str, Option<Value>)>) -> Value {
    Value::Object(fields.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))).collect())
}

/// `path` with a query string of the parameters that are given (`None`: left out).
pub fn with_query<'a>(path: String, parameters: impl IntoIterator<Item = (&'a str, Option<String>)>) -> String {
    let given: Vec<(&str, String)> =
        parameters.into_iter().filter_map(|(name, value)| value.map(|value| (name, value))).collect();
    if given.is_empty() {
        return path;
    }
    let mut query = url_encoded(&given);
    query.insert(0, '?');
    path + &query
}

/// `name=value&…`, each part percent-encoded.
fn url_encoded(pairs: &[(&str, String)]) -> String {
    let part = |text: &str| utf8_percent_encode(text, SEGMENT).to_string();
    pairs.iter().map(|(name, value)| format!("{}={}", part(name), part(value))).collect::<Vec<_>>().join("&")
}

/// The admin key: the first line of `token_file`, or else the `MUSTER_TOKEN` environment
/// variable. There is deliberately no way to pass the key itself as an argument: command lines
/// are visible to every user of the machine.
pub fn load_token(token_file: Option<&Path>) -> Result<String, Failure> {
    let (token, source) = match token_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|error| Failure::Usage(format!("cannot read --token-file {}: {error}", file.display())))?;
            (text.lines().next().unwrap_or_default().trim().to_owned(), format!("--token-file {}", file.display()))
        }
        None => match std::env::var("MUSTER_TOKEN") {
            Ok(token) => (token.trim().to_owned(), "MUSTER_TOKEN".to_owned()),
            Err(_) => {
                return Err(Failure::Usage("no admin key: give --token-file <PATH> or set MUSTER_TOKEN".to_owned()));
            }
        },
    };
    if token.is_empty() {
        return Err(Failure::Usage(format!("no admin key in {source}: it is empty")));
    }
    if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(Failure::Usage(format!("the admin key in {source} holds characters no key has")));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped_so_an_id_cannot_leave_its_segment() {
        assert_eq!(path(&["v1", "tenants", "demo", "decisions", "a/b?c"]), "/v1/tenants/demo/decisions/a%2Fb%3Fc");
        assert_eq!(path(&["users", ".."]), "/users/%2E%2E");
        assert_eq!(path(&["realms", "entra-2_x~"]), "/realms/entra-2_x~");
    }

    #[test]
    fn bodies_and_queries_hold_only_what_is_given() {
        let body = fields([("after", Some(Value::from("u1"))), ("limit", None), ("reason", Some(Value::from("x")))]);
        assert_eq!(body, serde_json::json!({"after": "u1", "reason": "x"}));
        assert_eq!(fields([("limit", None)]), serde_json::json!({}));
        assert_eq!(with_query("/d".into(), [("user", None), ("limit", None)]), "/d");
        let query = with_query("/d".into(), [("user", Some("a b&c".into())), ("x", None), ("limit", Some("5".into()))]);
        assert_eq!(query, "/d?user=a%20b%26c&limit=5");
    }

    #[test]
    fn a_refusal_carries_the_apis_code_and_message() {
        let refused =
            answer(401, r#"{"error": {"code": "unauthorized", "message": "no such key"}}"#.into(), String::new)
                .unwrap_err();
        assert_eq!(refused.exit_code(), 1);
        assert_eq!(refused.to_string(), "unauthorized: no such key");
    }

    #[test]
    fn a_refusal_without_the_apis_shape_shows_its_status_and_first_line() {
        let refused = answer(404, "<html>\nnot here".into(), String::new).unwrap_err();
        assert_eq!(refused.to_string(), "HTTP 404: <html>");
    }

    #[test]
    fn a_server_failure_or_an_answer_that_is_not_json_is_unavailable() {
        let failed =
            answer(500, r#"{"error": {"code": "internal", "message": "see the log"}}"#.into(), || "GET /x".into())
                .unwrap_err();
        assert_eq!(
            (failed.exit_code(), failed.to_string()),
            (3, "the server failed GET /x with HTTP 500: see the log".into())
        );
        assert_eq!(answer(200, "<html>".into(), String::new).unwrap_err().exit_code(), 3);
        assert_eq!(answer(302, String::new(), String::new).unwrap_err().exit_code(), 3);
    }

    #[test]
    fn a_success_keeps_its_text_unchanged() {
        let text = "{\"a\" :1}\n".to_owned();
        let ok = answer(200, text.clone(), String::new).unwrap();
        assert_eq!((ok.text, ok.json), (text, serde_json::json!({"a": 1})));
    }
}
