//! What a tenant can make the server keep is bounded, over real HTTP against servers started
//! in-process with bounds of the test's own: a module's trace is cut short with a marker step
//! (in the login's answer and in the decision record), a decision record never exceeds
//! `max_decision_record_bytes`, and module uploads are held to the versions, bytes and hourly
//! quotas of their realm and tenant (on SQLite and PostgreSQL).
//!
//! The stock rule modules must have been built with `scripts/build-policies`.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

#[path = "support/db.rs"]
mod db;
#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/server.rs"]
mod server;
mod support;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use fixture::*;
use muster_wire::{Outcome, Response, TraceStep, UserDecision, codec};
use serde_json::{Value, json};
use server::{Body, Client, InProcessServer, TestDatabase};

/// Where [`answering`] places its response in the module's memory.
const RESPONSE_AT: usize = 0x10000;
/// The steps of the finding's answer: ~1 MiB of empty steps, three bytes each.
const FINDING_STEPS: usize = ((1 << 20) - 64) / 3;

/// A user-rules module (no settings validation) answering `response` for every user.
fn answering(response: &[u8]) -> Vec<u8> {
    let pages = (RESPONSE_AT + response.len()).div_ceil(64 << 10) + 1;
    let data: String = response.iter().map(|byte| format!("\\{byte:02x}")).collect();
    let packed = ((RESPONSE_AT as u64) << 32) | response.len() as u64;
    wat::parse_str(format!(
        r#"(module
  (memory (export "memory") {pages})
  (global $heap (mut i32) (i32.const 0x8000))
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (if (i32.gt_u (i32.add (local.get $ptr) (local.get $len)) (i32.const {RESPONSE_AT})) (then unreachable))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (local.get $ptr))
  (data (i32.const {RESPONSE_AT}) "{data}")
  (func (export "muster_user_rules") (param i32 i32) (result i64) (i64.const {packed:#x}))
)"#
    ))
    .unwrap()
}

/// A module deciding `acme` (rule `everyone`, rule-based `groups`) with `trace`.
fn deciding(groups: Vec<String>, trace: Vec<TraceStep>) -> Vec<u8> {
    let response = Response {
        result: Ok(UserDecision { organization: Some("acme".into()), rule: Some("everyone".into()), groups }),
        trace,
    };
    answering(&codec::encode(&response).unwrap())
}

/// The finding's module: a valid answer of ~1 MiB, all of it empty trace steps.
fn huge_trace_module() -> Vec<u8> {
    deciding(Vec::new(), vec![TraceStep { rule: None, check: String::new(), outcome: Outcome::Matched }; FINDING_STEPS])
}

/// A small module of its own digest (`tag`), with `padding` bytes of data.
fn padded(tag: u32, padding: usize) -> Vec<u8> {
    let mut bytes = tag.to_le_bytes().to_vec();
    bytes.resize(padding.max(4), 0x5a);
    let response = Response {
        result: Ok(UserDecision { organization: Some("acme".into()), rule: None, groups: Vec::new() }),
        trace: Vec::new(),
    };
    let encoded = codec::encode(&response).unwrap();
    let data: String = bytes.iter().map(|byte| format!("\\{byte:02x}")).collect();
    let answer: String = encoded.iter().map(|byte| format!("\\{byte:02x}")).collect();
    let pages = (0x10000 + bytes.len()).div_ceil(64 << 10) + 1;
    wat::parse_str(format!(
        r#"(module
  (memory (export "memory") {pages})
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param i32) (result i32) (i32.const 0x8000))
  (data (i32.const 1024) "{answer}")
  (data (i32.const 0x10000) "{data}")
  (func (export "muster_user_rules") (param i32 i32) (result i64) (i64.const {packed:#x}))
)"#,
        packed = (1024u64 << 32) | encoded.len() as u64,
    ))
    .unwrap()
}

/// Uploads `wasm` as user rules of `realm`.
fn upload(server: &Client, tenant: &Tenant, realm: &str, wasm: &[u8]) -> server::Reply {
    let body = json!({"wasm": STANDARD.encode(wasm), "settings": {}, "note": "bounded"});
    server.call(
        "POST",
        &format!("/v1/tenants/{}/realms/{realm}/modules/user", tenant.id),
        Some(&tenant.admin),
        Body::Json(&body),
    )
}

/// Uploads `wasm` as the realm's next user-rules version and activates it.
fn activate(fx: &Fixture, wasm: &[u8]) {
    let reply = upload(&fx.server, &fx.tenant, REALM, wasm);
    assert_eq!(reply.status, 201, "{}", reply.text);
    let version = reply.json["version"].as_i64().unwrap();
    let (status, body) =
        fx.server.post_empty(&format!("{}/modules/user/versions/{version}/activate", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{body}");
}

/// The stored record of `decision`: its size (input, output and trace as stored) and its user
/// trace.
fn record(fx: &Fixture, decision: &str) -> (usize, Vec<Value>) {
    let (status, record) = fx.server.get(&format!("/v1/tenants/{}/decisions/{decision}", fx.tenant.id), fx.admin());
    assert_eq!(status, 200, "{record}");
    // Answered as JSON values; compact, each is as long as the text stored.
    let size = ["input", "output", "trace"].iter().map(|part| record[part].to_string().len()).sum();
    (size, record["trace"]["user"].as_array().unwrap().clone())
}

fn is_marker(step: &Value) -> bool {
    step["rule"].is_null()
        && step["outcome"] == "note"
        && step["check"].as_str().unwrap().starts_with("trace truncated: ")
}

fn create_realm(server: &Client, tenant: &Tenant, realm: &str) {
    let (status, body) = server.post(
        &format!("/v1/tenants/{}/realms", tenant.id),
        Some(&tenant.admin),
        &json!({"id": realm, "name": realm}),
    );
    assert_eq!(status, 201, "{body}");
}

fn versions(server: &Client, tenant: &Tenant, realm: &str) -> usize {
    let (status, body) =
        server.get(&format!("/v1/tenants/{}/realms/{realm}/modules/user/versions", tenant.id), Some(&tenant.admin));
    assert_eq!(status, 200, "{body}");
    body["versions"].as_array().unwrap().len()
}

#[test]
fn the_findings_huge_trace_is_cut_to_the_engines_caps_with_a_marker_and_a_small_record() {
    let server = InProcessServer::start("bounded-trace", |_| {});
    let fx = Fixture::new(&server.client(), "acme");
    activate(&fx, &huge_trace_module());

    let (status, login) = fx.login(&ada_claims());
    assert_eq!(status, 200, "the decision stands: {login}");
    assert_eq!(login["organization"], "acme");
    let steps = login["evaluation"]["user"]["trace"].as_array().unwrap();
    let cap = server.config.engine.max_trace_steps;
    assert_eq!(steps.len(), cap + 1, "the cap's steps and the marker");
    assert!(is_marker(&steps[cap]), "{}", steps[cap]);
    assert!(steps[cap]["check"].as_str().unwrap().contains(&format!("{} more steps", FINDING_STEPS - cap)));

    let (size, trace) = record(&fx, login["decision_id"].as_str().unwrap());
    assert_eq!(trace.len(), cap + 1);
    assert!(is_marker(trace.last().unwrap()));
    // The finding's record was ~19 MB; with the default caps it is a few tens of kilobytes.
    assert!(size < 100_000, "the record is {size} bytes");
    assert!(size <= server.config.max_decision_record_bytes);
}

#[test]
fn a_record_over_its_bound_loses_trace_steps_and_a_decision_too_large_to_record_fails() {
    const RECORD_LIMIT: usize = 64 << 10;
    const ENGINE_STEPS: usize = 20_000;
    let server = InProcessServer::start("bounded-record", |config| {
        config.engine.max_trace_steps = ENGINE_STEPS;
        config.engine.max_trace_bytes = usize::MAX;
        config.max_decision_record_bytes = RECORD_LIMIT;
    });
    let fx = Fixture::new(&server.client(), "acme");
    activate(&fx, &huge_trace_module());

    let (status, login) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{login}");
    let answered = login["evaluation"]["user"]["trace"].as_array().unwrap().len();
    assert_eq!(answered, ENGINE_STEPS + 1, "the engine kept its cap, and its marker");
    let (size, trace) = record(&fx, login["decision_id"].as_str().unwrap());
    assert!(size <= RECORD_LIMIT, "the record is {size} bytes, over {RECORD_LIMIT}");
    assert!(size > RECORD_LIMIT / 2, "as many steps as fit are kept: {size} bytes");
    let marker = trace.last().unwrap();
    assert!(is_marker(marker), "{marker}");
    let kept = trace.len() - 1;
    assert!(marker["check"].as_str().unwrap().contains(&format!("{} more steps", answered - kept)), "{marker}");
    assert!(trace[..kept].iter().all(|step| step["check"] == "" && step["outcome"] == "matched"));

    // A decision whose output alone is over the bound is not applied: only its failure is
    // recorded, small.
    activate(&fx, &deciding((0..30_000).map(|n| format!("g{n}")).collect(), Vec::new()));
    let (status, body) = fx.login(&ada_claims());
    let message = assert_error(status, &body, 422, "rules_failed");
    assert!(message.contains("too large to record"), "{message}");
    let failed = body["error"]["decision_id"].as_str().expect("the failure's record is named");
    let (status, record) = fx.server.get(&format!("/v1/tenants/{}/decisions/{failed}", fx.tenant.id), fx.admin());
    assert_eq!(status, 200, "{record}");
    assert_eq!((record["applied"].as_bool(), &record["output"]), (Some(false), &Value::Null));
    assert_eq!(record["failure"]["kind"], "record_too_large", "{record}");
    assert!(record.to_string().len() < 16 * 1024, "the failure's record is small");
}

/// The quotas of [`uploads_are_held_to_their_quotas`], on one backend.
fn quotas_hold(database_url: Option<String>, label: &str) {
    let (a, b, c) = (padded(1, 50_000), padded(2, 50_000), padded(3, 20_000));
    let realm_bytes = 80_000;
    assert!(a.len() + b.len() > realm_bytes && b.len() + c.len() <= realm_bytes);
    let tenant_bytes = (a.len() + b.len() + c.len() - 1) as u64;
    let server = InProcessServer::start(label, |config| {
        config.database_url = database_url;
        config.quota_versions_per_realm = 3;
        config.quota_uploads_per_hour = 6;
        config.quota_module_bytes_per_realm = realm_bytes as u64;
        config.quota_module_bytes_per_tenant = tenant_bytes;
    });
    let client = server.client();

    // Bytes: a module counts once per realm however many versions use it; a different one over
    // the realm's bytes is refused; in another realm it fits, and the next one is over the
    // tenant's bytes.
    let bytes = Tenant::create(&client, "bytes");
    create_realm(&client, &bytes, "r1");
    create_realm(&client, &bytes, "r2");
    assert_eq!(upload(&client, &bytes, "r1", &a).status, 201);
    assert_eq!(upload(&client, &bytes, "r1", &a).status, 201, "the same module again takes no more bytes");
    let refused = upload(&client, &bytes, "r1", &b);
    let message = assert_error(refused.status, &refused.json, 409, "quota_exceeded");
    assert!(message.contains("realm \"r1\"") && message.contains("80000 bytes"), "{message}");
    assert_eq!(upload(&client, &bytes, "r2", &b).status, 201);
    let refused = upload(&client, &bytes, "r2", &c);
    let message = assert_error(refused.status, &refused.json, 409, "quota_exceeded");
    assert!(message.contains("tenant \"bytes\"") && message.contains(&format!("{tenant_bytes} bytes")), "{message}");
    assert_eq!((versions(&client, &bytes, "r1"), versions(&client, &bytes, "r2")), (2, 1), "nothing stored");

    // Versions per realm (a refused upload is not counted), then uploads per hour (a 429 with Retry-After); another tenant is not
    // held to this one's hour.
    let counts = Tenant::create(&client, "counts");
    for realm in ["r1", "r2", "r3"] {
        create_realm(&client, &counts, realm);
    }
    for n in 10..13 {
        assert_eq!(upload(&client, &counts, "r1", &padded(n, 0)).status, 201);
    }
    let refused = upload(&client, &counts, "r1", &padded(13, 0));
    let message = assert_error(refused.status, &refused.json, 409, "quota_exceeded");
    assert!(message.contains("already holds 3 module versions"), "{message}");
    for (n, realm) in [(14, "r2"), (15, "r2"), (16, "r2")] {
        let reply = upload(&client, &counts, realm, &padded(n, 0));
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let body = json!({"wasm": STANDARD.encode(padded(17, 0)), "settings": {}, "note": "seventh"});
    let raw = client.send_raw(
        "POST",
        "/v1/tenants/counts/realms/r3/modules/user",
        Some(&format!("Bearer {}", counts.admin)),
        Some("application/json"),
        body.to_string().as_bytes(),
    );
    assert_eq!(raw.status, 429, "{}", raw.text);
    assert!(
        raw.body.contains("\"quota_exceeded\"") && raw.body.contains("6 module versions in the last hour"),
        "{}",
        raw.text
    );
    let retry_after: u64 = raw
        .head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("retry-after:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or_else(|| panic!("no Retry-After: {}", raw.head));
    assert!((3000..=3600).contains(&retry_after), "Retry-After: {retry_after}");
    assert_eq!(versions(&client, &counts, "r3"), 0, "nothing stored");
    create_realm(&client, &bytes, "r3");
    assert_eq!(upload(&client, &bytes, "r3", &padded(18, 0)).status, 201, "another tenant uploads on");
}

#[test]
fn uploads_are_held_to_their_quotas_on_sqlite() {
    quotas_hold(None, "bounded-quotas-sqlite");
}

#[test]
fn uploads_are_held_to_their_quotas_on_postgres() {
    let database = TestDatabase::create();
    quotas_hold(Some(database.url.clone()), "bounded-quotas-postgres");
}
