//! One-at-a-time requests outside the measured writes: the admin API (SCIM credential, user
//! records), the OAuth2 token endpoint, `/metrics` and the checks' SCIM reads.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Method, Request, StatusCode,
    header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue},
};
use serde_json::{Value, json};

use crate::http::{Connection, Target};

/// A connection for the side requests, reopened when the server closes it.
pub struct Client {
    target: Target,
    connection: Connection,
}

impl Client {
    pub async fn connect(target: &Target) -> anyhow::Result<Self> {
        let connection = target.connect().await.context("cannot reach the server")?;
        Ok(Client { target: target.clone(), connection })
    }

    /// Sends a request built by `build` (on a new connection once the server said it closes the
    /// last one, and twice if the kept-alive connection was closed unannounced).
    async fn send(
        &mut self,
        build: impl Fn(&Target) -> anyhow::Result<Request<Full<Bytes>>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        if self.connection.is_closing() {
            self.connection = self.target.connect().await?;
        }
        match self.connection.send(build(&self.target)?).await {
            Ok(answer) => Ok(answer),
            Err(_) => {
                self.connection = self.target.connect().await?;
                Ok(self.connection.send(build(&self.target)?).await?)
            }
        }
    }

    /// A JSON request expecting `expected`; answers the parsed body.
    pub async fn json(
        &mut self,
        method: Method,
        path: &str,
        authorization: &HeaderValue,
        body: Option<Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        let uri = self.target.uri(path)?;
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let (status, answer) =
            self.send(|target| Ok(target.request(method.clone(), uri.clone(), authorization, body.clone()))).await?;
        let text = String::from_utf8_lossy(&answer);
        if status != expected {
            bail!("{method} {path}: status {status}: {text}");
        }
        serde_json::from_slice(&answer).with_context(|| format!("{method} {path}: the answer is not JSON: {text}"))
    }

    /// Creates a SCIM credential for the realm with the admin key and exchanges it for an
    /// access token at the realm's OAuth2 token endpoint (client credentials, HTTP Basic).
    /// Answers `"Bearer <access token>"`.
    pub async fn scim_token(&mut self, admin: &HeaderValue, tenant: &str, realm: &str) -> anyhow::Result<HeaderValue> {
        let credential = self
            .json(
                Method::POST,
                &format!("/v1/tenants/{tenant}/realms/{realm}/scim/credentials"),
                admin,
                Some(json!({"label": "scim_sync"})),
                StatusCode::CREATED,
            )
            .await
            .context("cannot create a SCIM credential")?;
        let (id, secret) = match (credential["client_id"].as_str(), credential["client_secret"].as_str()) {
            (Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
            _ => bail!("the credential answer has no client_id and client_secret: {credential}"),
        };
        let basic = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))))?;
        let uri = self.target.uri(&format!("/scim/{tenant}/{realm}/oauth/token"))?;
        let (status, answer) = self
            .send(|target| {
                let mut request = target.request(
                    Method::POST,
                    uri.clone(),
                    &basic,
                    Bytes::from_static(b"grant_type=client_credentials"),
                );
                request
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
                Ok(request)
            })
            .await?;
        let token: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        match (status, token["access_token"].as_str()) {
            (StatusCode::OK, Some(token)) => Ok(HeaderValue::from_str(&format!("Bearer {token}"))?),
            _ => bail!("the token endpoint answered {status}: {}", String::from_utf8_lossy(&answer)),
        }
    }

    /// `muster_evaluations_total` from `/metrics`, by `trigger/result`.
    pub async fn evaluations(&mut self) -> anyhow::Result<BTreeMap<String, u64>> {
        let uri = self.target.uri("/metrics")?;
        let anyone = HeaderValue::from_static("");
        let (status, text) = self
            .send(|target| {
                let mut request = target.request(Method::GET, uri.clone(), &anyone, Bytes::new());
                request.headers_mut().remove(AUTHORIZATION);
                Ok(request)
            })
            .await?;
        if status != StatusCode::OK {
            bail!("GET /metrics: status {status}");
        }
        Ok(parse_evaluations(&String::from_utf8_lossy(&text)))
    }
}

/// Sums the `muster_evaluations_total{trigger="…",result="…"} N` samples by `trigger/result`.
fn parse_evaluations(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("muster_evaluations_total{")) {
        let Some((labels, value)) = line.rsplit_once(' ') else { continue };
        let label = |name: &str| {
            labels.split(&format!("{name}=\"")).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or("?").to_owned()
        };
        let value = value.parse::<f64>().unwrap_or(0.0) as u64;
        *counts.entry(format!("{}/{}", label("trigger"), label("result"))).or_default() += value;
    }
    counts
}

/// What changed between two readings of the counters (only the ones that moved).
pub fn difference(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(key, &value)| (key.clone(), value.saturating_sub(before.get(key).copied().unwrap_or(0))))
        .filter(|(_, value)| *value > 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_evaluation_counter() {
        let text = "# TYPE muster_evaluations counter\nmuster_evaluations_total{trigger=\"scim_create\",result=\"ok\"} 12\nmuster_evaluations_total{trigger=\"login\",result=\"ok\"} 3\nmuster_evaluation_seconds_sum{trigger=\"login\"} 0.1\n";
        let counts = parse_evaluations(text);
        assert_eq!(counts["scim_create/ok"], 12);
        assert_eq!(counts["login/ok"], 3);
        assert_eq!(counts.len(), 2);
    }
}
