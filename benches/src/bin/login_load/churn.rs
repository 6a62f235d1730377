//! Activation churn: while logins run, activate two versions of the realm's user-rules module
//! alternately (`POST …/modules/user/versions/{v}/activate`), as an administrator rolling
//! changes out would, to see what module switches cost the login path.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use hdrhistogram::Histogram;
use hyper::{Method, StatusCode, header::HeaderValue};
use serde_json::{Value, json};

use crate::{
    http::{Connection, Target},
    load::{Plan, micros, microsecond_histogram},
};

/// Two user-rules versions of a realm to switch between, and an admin connection to do it.
pub struct Churn {
    target: Target,
    authorization: HeaderValue,
    /// `/v1/tenants/{t}/realms/{r}/modules/user`.
    module_path: String,
    connection: Connection,
    /// The version active before the run (restored afterwards), then the other one.
    versions: [i64; 2],
    every: Duration,
}

/// What the churn did during the measured part of the run.
pub struct ChurnTally {
    /// The interval asked for.
    pub every: Duration,
    /// The two versions alternated.
    pub versions: [i64; 2],
    /// Activations answered 200.
    pub activations: u64,
    /// Activations that failed (the first few are printed on stderr).
    pub failures: u64,
    /// Round trip of each activation, in µs.
    pub latency: Histogram<u64>,
}

impl Churn {
    /// Finds the active user-rules version of the realm and another one; when there is no other,
    /// uploads `wasm_path` with the active version's settings as a second version.
    pub async fn prepare(
        target: &Target,
        authorization: HeaderValue,
        tenant: &str,
        realm: &str,
        every: Duration,
        wasm_path: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let mut churn = Churn {
            target: target.clone(),
            connection: target.connect().await?,
            authorization,
            module_path: format!("/v1/tenants/{tenant}/realms/{realm}/modules/user"),
            versions: [0, 0],
            every,
        };
        let listing = churn.call_json(Method::GET, "/versions", Bytes::new(), StatusCode::OK).await?;
        let active = listing["active"].as_i64().context("the realm has no active user-rules version to churn")?;
        let other = listing["versions"]
            .as_array()
            .context("the version listing has no `versions`")?
            .iter()
            .filter_map(|version| version["version"].as_i64())
            .filter(|&version| version != active)
            .max();
        let other = match other {
            Some(other) => other,
            None => churn.upload_copy(active, wasm_path).await?,
        };
        churn.versions = [active, other];
        Ok(churn)
    }

    /// The version active before the run, then the other one (`--shadow` shadows it).
    pub fn versions(&self) -> [i64; 2] {
        self.versions
    }

    /// Uploads `wasm_path` with the settings of version `active`; returns the new version.
    async fn upload_copy(&mut self, active: i64, wasm_path: &std::path::Path) -> anyhow::Result<i64> {
        let current = self.call_json(Method::GET, &format!("/versions/{active}"), Bytes::new(), StatusCode::OK).await?;
        let settings: Value = serde_json::from_str(current["settings"].as_str().context("version without settings")?)
            .context("the active version's settings are not JSON")?;
        let wasm = std::fs::read(wasm_path).with_context(|| {
            format!("cannot read {} (run scripts/build-policies, or pass --user-rules-wasm)", wasm_path.display())
        })?;
        let upload = json!({
            "wasm": STANDARD.encode(wasm),
            "settings": settings,
            "note": format!("login_load: second version for activation churn (settings of version {active})"),
        });
        let body = Bytes::from(serde_json::to_vec(&upload)?);
        let created = self.call_json(Method::POST, "", body, StatusCode::CREATED).await?;
        created["version"].as_i64().context("the upload answer has no version")
    }

    /// Activates the two versions alternately, every `every`, from the end of the warm-up to
    /// the end of the run; then makes the originally active version active again.
    pub async fn run(mut self, plan: Plan, sample_limit: usize) -> ChurnTally {
        let mut tally = ChurnTally {
            every: self.every,
            versions: self.versions,
            activations: 0,
            failures: 0,
            latency: microsecond_histogram(),
        };
        let mut ticks = tokio::time::interval_at(plan.measure_from.into(), self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut active = 0;
        loop {
            ticks.tick().await;
            if Instant::now() >= plan.end {
                break;
            }
            let next = 1 - active;
            let started = Instant::now();
            match self.activate(self.versions[next]).await {
                Ok(()) => {
                    tally.latency.saturating_record(micros(started.elapsed()));
                    tally.activations += 1;
                    active = next;
                }
                Err(error) => {
                    tally.failures += 1;
                    if tally.failures <= sample_limit as u64 {
                        eprintln!("activation of version {} failed: {error:#}", self.versions[next]);
                    }
                }
            }
        }
        if active != 0
            && let Err(error) = self.activate(self.versions[0]).await
        {
            eprintln!("could not make version {} active again: {error:#}", self.versions[0]);
        }
        tally
    }

    async fn activate(&mut self, version: i64) -> anyhow::Result<()> {
        self.call_json(Method::POST, &format!("/versions/{version}/activate"), Bytes::new(), StatusCode::OK)
            .await
            .map(drop)
    }

    /// A request under the module path expecting `expected`; reconnects once if the connection
    /// was closed.
    async fn call_json(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        let uri = self.target.uri(&format!("{}{path}", self.module_path))?;
        let request = || self.target.request(method.clone(), uri.clone(), &self.authorization, body.clone());
        let (status, answer) = match self.connection.send(request()).await {
            Ok(answer) => answer,
            Err(_) => {
                self.connection = self.target.connect().await?;
                self.connection.send(request()).await?
            }
        };
        let text = String::from_utf8_lossy(&answer);
        if status != expected {
            bail!("{method} {uri}: status {status}: {text}");
        }
        let value: Value = serde_json::from_slice(&answer)
            .with_context(|| format!("{method} {uri}: the answer is not JSON: {text}"))?;
        ensure!(value.is_object(), "{method} {uri}: the answer is not a JSON object: {text}");
        Ok(value)
    }
}
