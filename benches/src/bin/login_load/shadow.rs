//! Shadow mode on the login path (`--shadow`): before the run, a second user-rules version is
//! made the realm's shadow (`PUT …/modules/user/shadow {"version"}`), so every login also runs it
//! after the answer, never applied; the run then shows what shadow mode costs the login path.
//! The shadow evaluations of the measured run are counted from `/metrics`
//! (`muster_shadow_evaluations_total` by result: `same`, `differs`, `failed`, `dropped`).

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use hyper::{Method, StatusCode, header::HeaderValue};
use serde_json::json;

use crate::{
    churn::Churn,
    http::{Connection, Target},
};

/// The shadow version set for the run, and how to read and undo it.
pub struct Shadow {
    target: Target,
    authorization: HeaderValue,
    /// `/v1/tenants/{t}/realms/{r}/modules/user/shadow`.
    path: String,
    /// The active version, and the one shadowing it.
    pub versions: [i64; 2],
}

/// What shadow mode did during the measured run.
pub struct ShadowTally {
    /// The active version and the shadow.
    pub versions: [i64; 2],
    /// Shadow evaluations by result during the measured run.
    pub results: BTreeMap<String, u64>,
}

impl Shadow {
    /// Uploads a copy of the active user-rules version when the realm has no other (as the
    /// activation churn does) and makes the other version the shadow.
    pub async fn start(
        target: &Target,
        authorization: HeaderValue,
        tenant: &str,
        realm: &str,
        wasm_path: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let churn =
            Churn::prepare(target, authorization.clone(), tenant, realm, std::time::Duration::from_secs(1), wasm_path)
                .await?;
        let versions = churn.versions();
        let shadow = Shadow {
            target: target.clone(),
            authorization,
            path: format!("/v1/tenants/{tenant}/realms/{realm}/modules/user/shadow"),
            versions,
        };
        let body = Bytes::from(json!({"version": versions[1]}).to_string());
        shadow
            .call(Method::PUT, body)
            .await
            .with_context(|| format!("cannot make version {} the shadow", versions[1]))?;
        Ok(shadow)
    }

    /// The shadow evaluation counters now, by result.
    pub async fn counters(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        let mut connection = self.target.connect().await?;
        let uri = self.target.uri("/metrics")?;
        let (status, text) =
            connection.send(self.target.request(Method::GET, uri, &self.authorization, Bytes::new())).await?;
        if status != StatusCode::OK {
            bail!("GET /metrics: status {status}");
        }
        Ok(parse_shadow_counters(&String::from_utf8_lossy(&text)))
    }

    /// Stops shadow mode (`DELETE …/shadow`) and answers what the measured run did.
    pub async fn finish(self, before: &BTreeMap<String, u64>) -> anyhow::Result<ShadowTally> {
        // Shadow evaluations run after each answer: give the last ones a moment to be counted.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let after = self.counters().await?;
        let results = after
            .iter()
            .map(|(result, &count)| (result.clone(), count.saturating_sub(before.get(result).copied().unwrap_or(0))))
            .collect();
        self.call(Method::DELETE, Bytes::new()).await.context("cannot end shadow mode")?;
        Ok(ShadowTally { versions: self.versions, results })
    }

    async fn call(&self, method: Method, body: Bytes) -> anyhow::Result<()> {
        let mut connection: Connection = self.target.connect().await?;
        let uri = self.target.uri(&self.path)?;
        let (status, answer) =
            connection.send(self.target.request(method.clone(), uri, &self.authorization, body)).await?;
        if !status.is_success() {
            bail!("{method} {}: status {status}: {}", self.path, String::from_utf8_lossy(&answer));
        }
        Ok(())
    }
}

/// `muster_shadow_evaluations_total{result="…"} N` by result.
fn parse_shadow_counters(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| line.strip_prefix("muster_shadow_evaluations_total{result=\""))
        .filter_map(|rest| {
            let (result, rest) = rest.split_once('"')?;
            let value = rest.rsplit(' ').next()?.parse::<f64>().ok()?;
            Some((result.to_owned(), value as u64))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shadow_counters() {
        let text = "muster_shadow_evaluations_total{result=\"same\"} 10\nmuster_shadow_evaluations_total{result=\"dropped\"} 2\nmuster_evaluations_total{trigger=\"login\",result=\"ok\"} 3\n";
        let counters = parse_shadow_counters(text);
        assert_eq!(counters.get("same"), Some(&10));
        assert_eq!(counters.get("dropped"), Some(&2));
        assert_eq!(counters.len(), 2);
    }
}
