//! `muster serve` end to end: the real binary, started on a loopback port, spoken to over real
//! HTTP, once on the embedded SQLite store and once on a real PostgreSQL server.
//!
//! Every API scenario is written once, as a function taking the running server, and run against
//! both stores (`sqlite::…` and `postgres::…`); each run gets a fresh server and a fresh store.
//! Then come the scenarios that need several processes: two hosts on one PostgreSQL database,
//! SIGKILL in the middle of a burst of logins (both stores), and `--demo`.
//!
//! PostgreSQL must be reachable at `postgres://postgres@127.0.0.1:5432` (or `MUSTER_TEST_POSTGRES`):
//! if it is not, the PostgreSQL tests fail saying so, never skip. Each test gets its own empty
//! database, dropped afterwards. The rule modules must have been built with
//! `scripts/build-policies`. `MUSTER_TEST_LOG` sets the servers' `RUST_LOG`; a failing test
//! prints its server's log.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

#[path = "support/db.rs"]
mod db;
#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/routes.rs"]
mod routes;
#[path = "support/server.rs"]
mod server;
mod support;

use std::{
    collections::BTreeSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use fixture::*;
use serde_json::{Value, json};
use server::{Backend, Body, Client, OPERATOR_TOKEN, ServerOptions, TestServer};
use sha2::{Digest, Sha256};

/// Largest body of every route but module uploads (`api::MAX_BODY_BYTES`).
const MAX_BODY: usize = 1 << 20;
/// Largest module upload body (`api::MAX_UPLOAD_BYTES`).
const MAX_UPLOAD: usize = 16 << 20;

// ---------------------------------------------------------------------------------------------
// The scenarios, run on both stores.

macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $scenario() { super::run(super::Backend::Sqlite, stringify!($scenario), super::$scenario) })*
        }
        mod postgres {
            $(#[test] fn $scenario() { super::run(super::Backend::Postgres, stringify!($scenario), super::$scenario) })*
        }
    };
}

on_both_stores!(
    health_and_tenants,
    module_uploads_are_validated_and_refusals_store_nothing,
    organizations_the_tenant_does_not_have_are_refused_flagged_or_created,
    login_decides_applies_and_records,
    javascript_rules_are_checked_at_upload_and_decide_logins,
    previews_run_drafts_of_a_stored_version_and_store_nothing,
    login_refuses_a_user_name_held_by_another_provider_user,
    users_are_searched_paged_and_their_sessions_listed,
    activation_and_rollback_change_what_logins_decide,
    test_panel_dry_runs_change_nothing,
    impact_preview_shows_who_a_candidate_would_change_page_by_page,
    replay_is_identical_on_the_recorded_version_and_shows_a_candidates_difference,
    backtest_reports_which_past_logins_a_candidate_would_have_changed,
    shadow_mode_records_a_candidate_beside_live_logins_and_never_applies_it,
    rules_that_fail_leave_a_record_in_previews_shadow_runs_and_live_logins,
    failure_policies_decide_live_logins_whose_rules_trap,
    a_trapping_version_is_rolled_back_automatically_when_the_realm_asks,
    retention_is_set_per_tenant_and_purges_on_demand,
    metrics_count_evaluations_requests_errors_and_cache_hits,
    audit_log_is_ordered_filtered_and_paginated,
    keys_of_one_tenant_get_nothing_of_another_on_every_route,
    the_last_admin_key_of_a_tenant_cannot_be_revoked,
    bad_input_gets_a_clear_json_4xx_on_every_route,
    a_realms_own_limits_bound_its_evaluations_within_the_operators,
);

fn run(backend: Backend, label: &str, scenario: fn(&TestServer)) {
    let server = TestServer::start(backend, label);
    scenario(&server);
}

/// Scenario 1: Health; the operator creates tenants; a wrong or missing operator token is 401.
fn health_and_tenants(server: &TestServer) {
    let (status, health) = server.get("/healthz", None);
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok");
    let store = if server.options().database.is_some() { "postgres" } else { "sqlite" };
    assert_eq!(health["store"], store, "{health}");
    let (status, ready) = server.get("/readyz", None);
    assert_eq!((status, &ready["status"], &ready["store"]), (200, &json!("ready"), &json!(store)), "{ready}");

    let (status, created) = server.post("/v1/tenants", OPERATOR, &json!({"id": "acme", "name": "ACME Corp"}));
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["tenant"]["id"], "acme");
    assert_eq!(created["tenant"]["name"], "ACME Corp");
    assert_eq!(created["admin_key"]["kind"], "admin");
    assert!(created["admin_key"].get("secret_sha256").is_none(), "the stored hash is never shown: {created}");
    let token = created["token"].as_str().expect("a one-time token").to_owned();
    assert!(token.starts_with(&format!("mk_{}_", created["admin_key"]["id"].as_str().unwrap())), "{token}");

    // The token is the tenant's admin key.
    let (status, tenant) = server.get("/v1/tenants/acme", Some(&token));
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["name"], "ACME Corp");
    // Shown once: listing keys shows neither the token nor its hash.
    let reply = server.call("GET", "/v1/tenants/acme/keys", Some(&token), Body::None);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["keys"].as_array().unwrap().len(), 1, "{}", reply.text);
    let secret = token.rsplit('_').next().unwrap();
    assert!(!reply.text.contains(secret) && !reply.text.contains("secret"), "{}", reply.text);

    let (status, list) = server.get("/v1/tenants", OPERATOR);
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["tenants"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["acme"]);

    // Wrong, missing, or a tenant's key instead of the operator token: 401, nothing created.
    for token in [Some("not-the-operator-token"), None, Some(token.as_str())] {
        let (status, body) = server.post("/v1/tenants", token, &json!({"id": "globex", "name": "Globex"}));
        let message = assert_error(status, &body, 401, "unauthorized");
        assert!(!message.is_empty());
        let (status, body) = server.get("/v1/tenants", token);
        assert_error(status, &body, 401, "unauthorized");
    }
    let reply = server.call("GET", "/v1/tenants", Some("x"), Body::None);
    assert!(reply.content_type.as_deref().is_some_and(|t| t.starts_with("application/json")), "{reply:?}");
    let (_, list) = server.get("/v1/tenants", OPERATOR);
    assert_eq!(list["tenants"].as_array().unwrap().len(), 1, "{list}");

    // A duplicate id conflicts; an id that cannot appear in a URL is refused.
    let (status, body) = server.post("/v1/tenants", OPERATOR, &json!({"id": "acme", "name": "Again"}));
    assert_error(status, &body, 409, "conflict");
    let (status, body) = server.post("/v1/tenants", OPERATOR, &json!({"id": "Not A Slug", "name": "x"}));
    assert!(assert_error(status, &body, 422, "unprocessable").contains("tenant id"), "{body}");
}

/// Scenario 2: Organizations, a realm, and module uploads: the good one is stored with its digest, every
/// bad one gets a precise 4xx and stores nothing.
fn module_uploads_are_validated_and_refusals_store_nothing(server: &TestServer) {
    let tenant = Tenant::create(server, "acme");
    let admin = Some(tenant.admin.as_str());
    for (id, name) in [("acme", "ACME"), ("acme-sales", "ACME Sales")] {
        let (status, org) = server.put(&format!("/v1/tenants/acme/organizations/{id}"), admin, &json!({"name": name}));
        assert_eq!(status, 200, "{org}");
        assert_eq!(org, json!({"id": id, "name": name}));
    }
    let (_, orgs) = server.get("/v1/tenants/acme/organizations", admin);
    let mut names: Vec<&str> =
        orgs["organizations"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["ACME", "ACME Sales"]);

    // A realm's default organization must exist.
    let (status, body) = server.post(
        "/v1/tenants/acme/realms",
        admin,
        &json!({"id": "entra", "name": "Entra", "default_organization": "nope"}),
    );
    assert!(assert_error(status, &body, 422, "unprocessable").contains("nope"), "{body}");
    let (status, realm) = server.post("/v1/tenants/acme/realms", admin, &json!({"id": "entra", "name": "Entra ID"}));
    assert_eq!(status, 201, "{realm}");
    assert_eq!(realm["id"], "entra");
    assert_eq!(realm["user_rules_version"], Value::Null);
    let (status, body) = server.post("/v1/tenants/acme/realms", admin, &json!({"id": "entra", "name": "Again"}));
    assert_error(status, &body, 409, "conflict");

    let modules = "/v1/tenants/acme/realms/entra/modules";
    let wasm = module_bytes("user_rules");
    // Settings that name an organization the tenant does not have (acme-engineering): refused,
    // naming it with its path, until it exists.
    let (status, body) = server.post(
        &format!("{modules}/user"),
        admin,
        &json!({"wasm": STANDARD.encode(&wasm), "settings": user_rules_v1(), "note": "first rules"}),
    );
    let message = assert_error(status, &body, 422, "unprocessable");
    assert!(message.contains("acme-engineering"), "{message}");
    assert_eq!(body["error"]["path"], "rules[1].organization", "{body}");
    assert_eq!(
        body["error"]["unknown_organizations"],
        json!([{"organization": "acme-engineering", "path": "rules[1].organization"}])
    );
    let (status, org) =
        server.put("/v1/tenants/acme/organizations/acme-engineering", admin, &json!({"name": "ACME Engineering"}));
    assert_eq!(status, 200, "{org}");
    let (status, version) = server.post(
        &format!("{modules}/user"),
        admin,
        &json!({"wasm": STANDARD.encode(&wasm), "settings": user_rules_v1(), "note": "first rules"}),
    );
    assert_eq!(status, 201, "{version}");
    assert_eq!(version["version"], 1);
    assert_eq!(version["kind"], "user");
    assert_eq!(version["digest"], sha256_hex(&wasm), "the digest is the SHA-256 of the bytes");
    assert_eq!(version["size"], wasm.len());
    assert_eq!(version["note"], "first rules");
    assert_eq!(version["created_by"], tenant.admin_key_id);
    assert_eq!(version["settings"], user_rules_v1(), "settings are the object uploaded");
    assert!(version.get("prepared_settings").is_none() && version.get("wasm").is_none(), "{version}");
    let before = server.get(&format!("{modules}/user/versions"), admin);
    assert_eq!(before.0, 200, "{}", before.1);
    assert_eq!(before.1["active"], Value::Null, "uploading does not activate");
    assert_eq!(before.1["versions"].as_array().unwrap().len(), 1);
    // The version keeps the JSON Schema the module publishes of its settings, generated from its
    // types, organization fields marked; served with the version and with the list.
    let schema = &version["settings_schema"];
    assert_eq!(schema["type"], "object", "{version}");
    assert_eq!(schema["required"], json!(["rules"]), "{schema}");
    let rule = &schema["$defs"]["Rule"]["properties"];
    assert_eq!(rule["organization"]["x-muster-organization"], true, "{schema}");
    assert_eq!(schema["properties"]["fallback"]["x-muster-organization"], true, "{schema}");
    assert!(rule["name"].get("x-muster-organization").is_none(), "{schema}");
    assert_eq!(&before.1["versions"][0]["settings_schema"], schema);
    let (status, shown) = server.get(&format!("{modules}/user/versions/1"), admin);
    assert_eq!(status, 200, "{shown}");
    assert_eq!(&shown["settings_schema"], schema);

    // Settings the module's own validation refuses: 422 naming the path of the problem.
    let bad_settings =
        json!({"rules": [{"name": "x", "organization": "", "when": {"provider_group": {"equals": "a"}}}]});
    let (status, body) = server.post(
        &format!("{modules}/user"),
        admin,
        &json!({"wasm": STANDARD.encode(&wasm), "settings": bad_settings}),
    );
    let message = assert_error(status, &body, 422, "unprocessable");
    assert!(message.contains("rules[0].organization"), "{message}");
    assert_eq!(body["error"]["path"], "rules[0].organization", "{body}");
    // A misshapen document: the path in the author's document, no line and column of a copy.
    let misshapen = json!({"rules": [
        {"name": "a", "organization": "acme", "when": {"provider_group": {"equals": "a"}}},
        {"name": "b", "organization": "acme", "when": {"all": [{"attribute": {"name": "d", "in": "Sales"}}]}}
    ]});
    let (status, body) =
        server.post(&format!("{modules}/user"), admin, &json!({"wasm": STANDARD.encode(&wasm), "settings": misshapen}));
    let message = assert_error(status, &body, 422, "unprocessable");
    assert_eq!(body["error"]["path"], "rules[1].when.all[0].attribute.in", "{body}");
    assert!(message.starts_with("settings refused at rules[1].when.all[0].attribute.in: "), "{message}");
    assert!(!message.contains("line") && !message.contains("column"), "{message}");
    // Settings the module cannot load into an instance (its `muster_load_settings` traps): the
    // version would fail every decision, so the upload is refused.
    let (status, body) = server.post(
        &format!("{modules}/user"),
        admin,
        &json!({"wasm": STANDARD.encode(settings_loader_that_traps()), "settings": {}}),
    );
    let message = assert_error(status, &body, 422, "unprocessable");
    assert!(message.starts_with("settings refused: ") && message.contains("unreachable"), "{message}");
    // Not WebAssembly at all.
    let (status, body) = server.post(
        &format!("{modules}/user"),
        admin,
        &json!({"wasm": STANDARD.encode(b"\0asm but not really"), "settings": {}}),
    );
    assert!(assert_error(status, &body, 422, "unprocessable").contains("module refused"), "{body}");
    let (status, body) =
        server.post(&format!("{modules}/user"), admin, &json!({"wasm": STANDARD.encode(b"{\"json\": true}")}));
    assert_error(status, &body, 422, "unprocessable");
    // Not base64.
    let (status, body) = server.post(
        &format!("{modules}/user"),
        admin,
        &json!({"wasm": "@@@ not base64 @@@", "settings": user_rules_v1()}),
    );
    assert!(assert_error(status, &body, 400, "bad_request").contains("base64"), "{body}");
    // A group-rules module offered as user rules.
    let group_wasm = module_bytes("group_rules");
    let (status, body) = server.post(
        &format!("{modules}/user"),
        admin,
        &json!({"wasm": STANDARD.encode(&group_wasm), "settings": group_rules_v1()}),
    );
    assert!(assert_error(status, &body, 422, "unprocessable").contains("user rules"), "{body}");
    // An unknown kind; an unknown realm.
    let (status, body) = server.post(
        &format!("{modules}/users"),
        admin,
        &json!({"wasm": STANDARD.encode(&wasm), "settings": user_rules_v1()}),
    );
    assert_error(status, &body, 404, "not_found");
    let (status, body) = server.post(
        "/v1/tenants/acme/realms/okta/modules/user",
        admin,
        &json!({"wasm": STANDARD.encode(&wasm), "settings": user_rules_v1()}),
    );
    assert_error(status, &body, 404, "not_found");

    // Nothing was stored by any refused upload.
    let after = server.get(&format!("{modules}/user/versions"), admin);
    assert_eq!(after, before, "refused uploads change nothing");
    let (_, group_versions) = server.get(&format!("{modules}/group/versions"), admin);
    assert_eq!(group_versions["versions"], json!([]));
    let uploads = audit_actions(server, &tenant, "module.uploaded");
    assert_eq!(uploads.len(), 1, "one audited upload: {uploads:?}");

    // One version can be read back; others are 404.
    let (status, one) = server.get(&format!("{modules}/user/versions/1"), admin);
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["digest"], version["digest"]);
    for missing in ["2", "0", "latest"] {
        let (status, body) = server.get(&format!("{modules}/user/versions/{missing}"), admin);
        assert_error(status, &body, 404, "not_found");
    }

    // The same bytes under a group-rules module are a different kind and numbered on their own.
    let (status, group) = server.post(
        &format!("{modules}/group"),
        admin,
        &json!({"wasm": STANDARD.encode(&group_wasm), "settings": group_rules_v1()}),
    );
    assert_eq!(status, 201, "{group}");
    assert_eq!((group["version"].as_i64(), group["kind"].as_str()), (Some(1), Some("group")));
    assert_eq!(group["digest"], sha256_hex(&group_wasm));
}

/// Organizations are checked: an upload naming one the tenant does not have is refused with its
/// path; previews flag them; a live decision naming one fails and is recorded, unless the realm
/// creates organizations on first use (then it is created, audited, and listed).
fn organizations_the_tenant_does_not_have_are_refused_flagged_or_created(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let realm = fx.realm_path();
    let partners = json!({
        "rules": [{"name": "sales", "organization": "acme-partners",
                   "when": {"attribute": {"name": "department", "equals": "Sales"}}}],
        "fallback": "acme"
    });
    let groups =
        json!({"rules": [{"name": "sales", "pattern": "^sales-", "organizations": ["acme-sales", "acme-resellers"]}]});
    let body = |artifact: &str, settings: &Value| json!({"wasm": STANDARD.encode(module_bytes(artifact)), "settings": settings});
    let (status, refused) = server.post(&format!("{realm}/modules/group"), fx.admin(), &body("group_rules", &groups));
    assert_error(status, &refused, 422, "unprocessable");
    assert_eq!(
        refused["error"]["unknown_organizations"],
        json!([{"organization": "acme-resellers", "path": "rules[0].organizations[1]"}])
    );

    // A realm that creates organizations on first use takes them.
    let (status, updated) = server.patch(&realm, fx.admin(), &json!({"create_organizations": true}));
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (updated["create_organizations"].as_bool(), updated["default_organization"].as_str()),
        (Some(true), None)
    );
    let version = fx.upload("user", "user_rules", &partners, "partners");
    assert_eq!(version["version"], 2);

    // The test panel flags them, and so does the impact preview.
    let ada_user = json!({"user_name": "ada@acme.com", "attributes": {"department": ["Sales"]}, "provider_groups": ["sales-emea"]});
    let dry_run = |body: &Value| server.post(&format!("{realm}/dry-run"), fx.admin(), body);
    let (status, dry) = dry_run(&json!({"user": ada_user, "user_rules_version": 2}));
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["evaluation"]["user"]["organization"], "acme-partners", "{dry}");
    assert_eq!(dry["unknown_organizations"], json!(["acme-partners"]), "{dry}");
    let (status, dry) = dry_run(&json!({"user": ada_user}));
    assert_eq!((status, &dry["unknown_organizations"]), (200, &json!([])), "{dry}");
    let (status, ada) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{ada}");
    let (status, impact) = server.post(&format!("{realm}/modules/user/versions/2/impact"), fx.admin(), &json!({}));
    assert_eq!(status, 200, "{impact}");
    assert_eq!(impact["unknown_organizations"], json!(["acme-partners"]), "{impact}");

    // Live, with the realm no longer creating them: a typed failure, recorded, nothing applied.
    let (status, _) = server.post_empty(&format!("{realm}/modules/user/versions/2/activate"), fx.admin());
    assert_eq!(status, 200);
    let (status, updated) = server.patch(&realm, fx.admin(), &json!({"create_organizations": false}));
    assert_eq!((status, &updated["create_organizations"]), (200, &json!(false)), "{updated}");
    let (status, body) = server.patch(&realm, fx.admin(), &json!({"create_organizations": null}));
    assert_eq!(status, 422, "create_organizations is a boolean, not null: {body}");
    let (status, body) = fx.login(&ada_claims());
    let message = assert_error(status, &body, 422, "rules_failed");
    assert!(message.contains("acme-partners"), "{message}");
    let decision_id = body["error"]["decision_id"].as_str().expect("the answer names the failure's record");
    let (_, record) = server.get(&format!("/v1/tenants/acme/decisions/{decision_id}"), fx.admin());
    assert_eq!((record["applied"].as_bool(), &record["output"]), (Some(false), &Value::Null), "{record}");
    assert_eq!(record["failure"]["kind"], "unknown_organization", "{record}");
    assert_eq!(record["user_rules_version"], 2, "{record}");
    let (_, user) = server.get(&format!("{realm}/users/{}", ada["user_id"].as_str().unwrap()), fx.admin());
    assert_eq!(user["organization"], "acme-sales", "nothing applied: {user}");
    let (_, orgs) = server.get("/v1/tenants/acme/organizations", fx.admin());
    assert!(!orgs.to_string().contains("acme-partners"), "{orgs}");

    // Created on first use: in the decision's transaction, audited with the decision.
    let (status, _) = server.patch(&realm, fx.admin(), &json!({"create_organizations": true}));
    assert_eq!(status, 200);
    let (status, ada) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{ada}");
    assert_eq!(ada["organization"], "acme-partners", "{ada}");
    let (_, orgs) = server.get("/v1/tenants/acme/organizations", fx.admin());
    assert!(orgs["organizations"].as_array().unwrap().iter().any(|o| o["id"] == "acme-partners"), "{orgs}");
    let created = audit_actions(server, &fx.tenant, "organization.created");
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["target"], "organization/acme-partners");
    assert_eq!(created[0]["details"]["decision_id"], ada["decision_id"], "{created:?}");
    let (status, dry) = dry_run(&json!({"user": ada_user}));
    assert_eq!((status, &dry["unknown_organizations"]), (200, &json!([])), "{dry}");
}

/// Scenario 3: A login with the evaluation key: organization, rule, groups, provider-group marks, a
/// decision record and a trace; a user no rule matches is blocked with a reason; the stored
/// users reflect the decisions.
/// The stock js-rules module: a script that does not parse is refused at upload with its line
/// and column; one that does decides logins like any module, with its trace.
fn javascript_rules_are_checked_at_upload_and_decide_logins(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let modules = format!("{}/modules/user", fx.realm_path());
    let upload = |script: &str| {
        let body = json!({"wasm": STANDARD.encode(module_bytes("js_rules")), "settings": {"script": script}});
        server.post(&modules, fx.admin(), &body)
    };
    let (status, body) = upload("export function decideUser(user) {\n  if (user ==) { return null; }\n}\n");
    let message = assert_error(status, &body, 422, "unprocessable");
    assert_eq!(body["error"]["path"], "script", "{body}");
    assert!(message.contains("line 2, column") && message.contains("if (user ==)"), "{message}");
    let (_, versions) = server.get(&format!("{modules}/versions"), fx.admin());
    assert_eq!(versions["versions"].as_array().unwrap().len(), 1, "the refused upload stored nothing: {versions}");

    let script = r#"export function decideUser(user, context) {
      if (trace.check("emea", "a provider group ends in -emea", user.providerGroups.some((g) => matches("-emea$", g)))) {
        return { organization: "acme-emea", rule: "emea", groups: ["javascript"] };
      }
      return { organization: null };
    }"#;
    let (status, version) = upload(script);
    assert_eq!(status, 201, "{version}");
    let (status, body) = server.post_empty(&format!("{modules}/versions/2/activate"), fx.admin());
    assert_eq!(status, 200, "{body}");
    let (status, ada) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{ada}");
    assert_eq!((&ada["organization"], &ada["groups"]), (&json!("acme-emea"), &json!(["javascript"])), "{ada}");
    assert_eq!(ada["evaluation"]["user"]["rule"], "emea");
    let trace = ada["evaluation"]["user"]["trace"].as_array().expect("a trace");
    assert!(
        trace.iter().any(|s| s["check"] == "a provider group ends in -emea" && s["outcome"] == "matched"),
        "{trace:?}"
    );
    let (status, bob) = fx.login(&bob_claims());
    assert_eq!((status, &bob["blocked"]), (200, &json!(true)), "{bob}");
    // No clock, no randomness: replaying the decision gives it again, trace and fuel included.
    let replay = format!("/v1/tenants/acme/decisions/{}/replay", ada["decision_id"].as_str().unwrap());
    let (status, same) = server.post_empty(&replay, fx.admin());
    assert_eq!(status, 200, "{same}");
    assert_eq!((&same["identical"], &same["output_identical"]), (&json!(true), &json!(true)), "{same}");
    assert_eq!(same["recorded"], same["replayed"]);

    // The module exports both entries, but this script decides users only: as group rules it
    // would fail every evaluation, so it is refused there, at `script`, saying what to export.
    let groups = format!("{}/modules/group", fx.realm_path());
    let body = json!({"wasm": STANDARD.encode(module_bytes("js_rules")), "settings": {"script": script}});
    let (status, body) = server.post(&groups, fx.admin(), &body);
    let message = assert_error(status, &body, 422, "unprocessable");
    assert_eq!(body["error"]["path"], "script", "{body}");
    assert!(
        message.contains("uploaded as group rules") && message.contains("export function decideGroup"),
        "{message}"
    );
    let (_, versions) = server.get(&format!("{groups}/versions"), fx.admin());
    assert_eq!(versions["versions"].as_array().unwrap().len(), 1, "nothing stored: {versions}");
}

/// Drafts: js-rules version 2 is active, and the previews run other scripts on its module
/// without storing them. A draft that does not parse is refused exactly as its upload is (at
/// path `script`, with line and column); one that does runs in the test panel, the impact
/// preview and the backtest, each answer saying it ran a draft; paging a draft's impact takes
/// its snapshot once; nothing is stored, applied or audited.
fn previews_run_drafts_of_a_stored_version_and_store_nothing(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let modules = format!("{}/modules/user", fx.realm_path());
    let everyone = "export function decideUser(user) {\n  return { organization: \"acme\", rule: \"everyone\" };\n}\n";
    let version = fx.upload("user", "js_rules", &json!({"script": everyone}), "javascript");
    assert_eq!(version["version"], 2, "{version}");
    let (status, body) = server.post_empty(&format!("{modules}/versions/2/activate"), fx.admin());
    assert_eq!(status, 200, "{body}");
    let (_, ada) = fx.login(&ada_claims());
    let (_, bob) = fx.login(&bob_claims());
    assert_eq!((&ada["organization"], &bob["organization"]), (&json!("acme"), &json!("acme")), "{ada} {bob}");
    let ada_id = ada["user_id"].as_str().unwrap();
    let dry_run = format!("{}/users/{ada_id}/dry-run", fx.realm_path());
    let impact = format!("{modules}/versions/2/impact");
    let backtest = format!("{modules}/versions/2/backtest");
    let (_, versions_before) = server.get(&format!("{modules}/versions"), fx.admin());
    let (_, decisions_before) = server.get("/v1/tenants/acme/decisions", fx.admin());
    let audit_before = audit_all(server, &fx.tenant, "");
    let (_, ada_before) = server.get(&format!("{}/users/{ada_id}", fx.realm_path()), fx.admin());

    // A script that does not parse: refused where it is, as its upload is.
    let broken = json!({"script": "export function decideUser(user) {\n  if (user ==) { return null; }\n}\n"});
    let upload = json!({"wasm": STANDARD.encode(module_bytes("js_rules")), "settings": broken});
    let (status, upload_refused) = server.post(&modules, fx.admin(), &upload);
    assert_error(status, &upload_refused, 422, "unprocessable");
    for (path, body) in [
        (&dry_run, json!({"user_rules_settings": broken})),
        (&impact, json!({"settings": broken})),
        (&backtest, json!({"settings": broken, "limit": 5})),
    ] {
        let (status, refused) = server.post(path, fx.admin(), &body);
        let message = assert_error(status, &refused, 422, "unprocessable");
        assert_eq!(refused["error"]["path"], "script", "{refused}");
        assert!(message.contains("line 2, column") && message.contains("if (user ==)"), "{message}");
        assert_eq!(refused["error"], upload_refused["error"], "a draft is refused as its upload is");
    }
    // A script that leaves the user rules nothing to run: refused as its upload is, too.
    let groups_only = json!({"script": "export function decideGroup() { return { organizations: [] }; }\n"});
    let upload = json!({"wasm": STANDARD.encode(module_bytes("js_rules")), "settings": groups_only});
    let (status, upload_refused) = server.post(&modules, fx.admin(), &upload);
    assert_error(status, &upload_refused, 422, "unprocessable");
    let (status, refused) = server.post(&impact, fx.admin(), &json!({"settings": groups_only}));
    assert_error(status, &refused, 422, "unprocessable");
    assert_eq!(refused["error"], upload_refused["error"], "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("decideUser"), "{refused}");

    // A draft that sends those in an -emea group to the organization its config names.
    let emea = json!({
        "script": "export function decideUser(user, context) {\n  if (trace.check(\"emea\", \"in an -emea group\", user.providerGroups.some((g) => g.endsWith(\"-emea\")))) {\n    return { organization: context.config.emea, rule: \"emea\" };\n  }\n  return { organization: \"acme\", rule: \"everyone\" };\n}\n",
        "config": {"emea": "acme-emea"}
    });
    let (status, dry) = server.post(&dry_run, fx.admin(), &json!({"user_rules_settings": emea}));
    assert_eq!(status, 200, "{dry}");
    let user = &dry["evaluation"]["user"];
    assert_eq!((&user["organization"], &user["rule"]), (&json!("acme-emea"), &json!("emea")), "{dry}");
    assert_eq!(user["module"], json!({"version": 2, "digest": version["digest"], "draft": true}));
    assert!(dry["evaluation"]["groups"]["module"].get("draft").is_none(), "{dry}");
    let (status, stored) = server.post_empty(&dry_run, fx.admin());
    assert_eq!((status, &stored["evaluation"]["user"]["organization"]), (200, &json!("acme")), "{stored}");
    assert!(stored["evaluation"]["user"]["module"].get("draft").is_none(), "{stored}");
    // A draft of the group rules, and an ad-hoc user.
    let everything_to_engineering =
        json!({"rules": [{"name": "all", "pattern": ".", "organizations": ["acme-engineering"]}]});
    let (status, dry) = server.post(&dry_run, fx.admin(), &json!({"group_rules_settings": everything_to_engineering}));
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["evaluation"]["groups"]["module"]["draft"], true, "{dry}");
    assert!(
        dry["provider_groups"].as_array().unwrap().iter().all(|g| g["organizations"] == json!(["acme-engineering"])),
        "{dry}"
    );
    let eve =
        json!({"user": {"user_name": "eve@acme.com", "provider_groups": ["ops-emea"]}, "user_rules_settings": emea});
    let (status, adhoc) = server.post(&format!("{}/dry-run", fx.realm_path()), fx.admin(), &eve);
    assert_eq!((status, &adhoc["evaluation"]["user"]["organization"]), (200, &json!("acme-emea")), "{adhoc}");
    // A draft runs a stored version's module: with no version, or one that does not exist, it cannot.
    let (status, body) =
        server.post(&dry_run, fx.admin(), &json!({"user_rules_version": null, "user_rules_settings": emea}));
    let message = assert_error(status, &body, 422, "unprocessable");
    assert!(message.contains("user_rules_version"), "{message}");
    let (status, body) = server.post(&format!("{modules}/versions/9/impact"), fx.admin(), &json!({"settings": emea}));
    assert_error(status, &body, 404, "not_found");
    // Organizations the tenant does not have are listed, not refused.
    let partners = json!({"script": "export function decideUser() { return { organization: \"acme-partners\" }; }"});
    let (status, dry) = server.post(&dry_run, fx.admin(), &json!({"user_rules_settings": partners}));
    assert_eq!((status, &dry["unknown_organizations"]), (200, &json!(["acme-partners"])), "{dry}");

    // The impact preview of the draft, a user a page: Ada would change, Bob would not. The second
    // page finds the draft's snapshot in the cache.
    let snapshot_misses = || metric(server, r#"muster_cache_lookups_total{cache="snapshot",result="miss"}"#);
    let (status, first) = server.post(&impact, fx.admin(), &json!({"settings": emea, "limit": 1}));
    assert_eq!(status, 200, "{first}");
    let misses = snapshot_misses();
    let after = first["next_after"].clone();
    let (status, second) = server.post(&impact, fx.admin(), &json!({"settings": emea, "limit": 1, "after": after}));
    assert_eq!(status, 200, "{second}");
    assert_eq!(snapshot_misses(), misses, "the second page took no snapshot");
    let mut changes = Vec::new();
    for page in [&first, &second] {
        assert_eq!(
            (&page["version"], &page["draft"], &page["evaluated"]),
            (&json!(2), &json!(true), &json!(1)),
            "{page}"
        );
        changes.extend(page["changes"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["user_id"], ada_id);
    assert_eq!(
        (&changes[0]["active"]["organization"], &changes[0]["candidate"]["organization"]),
        (&json!("acme"), &json!("acme-emea"))
    );
    let (_, undrafted) = server.post(&impact, fx.admin(), &json!({}));
    assert_eq!((&undrafted["draft"], &undrafted["changed"]), (&json!(false), &json!(0)), "{undrafted}");

    // The backtest of the draft over both logins: Ada's would have ended in acme-emea.
    let (status, tested) = server.post(&backtest, fx.admin(), &json!({"settings": emea}));
    assert_eq!(status, 200, "{tested}");
    assert_eq!(
        (&tested["draft"], &tested["examined"], &tested["changed"]),
        (&json!(true), &json!(2), &json!(1)),
        "{tested}"
    );
    let change = &tested["changes"][0];
    assert_eq!(change["decision_id"], ada["decision_id"], "{tested}");
    assert_eq!(
        (&change["recorded"]["organization"], &change["candidate"]["organization"]),
        (&json!("acme"), &json!("acme-emea"))
    );

    // Nothing was stored, applied or audited: the versions, the decisions and the log are as they were.
    let (_, versions_after) = server.get(&format!("{modules}/versions"), fx.admin());
    assert_eq!(versions_after, versions_before);
    assert_eq!(
        (&versions_after["active"], &versions_after["versions"][1]["settings"]["script"]),
        (&json!(2), &json!(everyone))
    );
    let (_, decisions_after) = server.get("/v1/tenants/acme/decisions", fx.admin());
    assert_eq!(decisions_after, decisions_before);
    assert_eq!(audit_all(server, &fx.tenant, ""), audit_before);
    let (_, ada_after) = server.get(&format!("{}/users/{ada_id}", fx.realm_path()), fx.admin());
    assert_eq!(ada_after, ada_before);
}

/// The value of one series of `GET /metrics` (0 before it is first counted).
fn metric(server: &TestServer, series: &str) -> f64 {
    let text = server.call("GET", "/metrics", None, Body::None).text;
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok()).unwrap_or(0.0)
}

fn login_decides_applies_and_records(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (status, ada) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{ada}");
    assert_eq!(ada["blocked"], false, "{ada}");
    assert!(ada.get("reason").is_none(), "{ada}");
    assert_eq!(ada["created"], true);
    assert_eq!(ada["organization"], "acme-sales");
    assert_eq!(ada["groups"], json!(["all-managers"]));
    assert_eq!(ada["evaluation"]["user"]["rule"], "sales");
    assert_eq!(ada["evaluation"]["user"]["module"]["version"], 1);
    assert_eq!(ada["evaluation"]["user"]["module"]["digest"], sha256_hex(&module_bytes("user_rules")));
    assert_eq!(ada["evaluation"]["groups"]["module"]["version"], 1);
    // `sales-emea` is marked by the group rules; `everyone` matches no group rule, so it takes
    // the organization of its most recent member to log in.
    assert_eq!(
        ada["provider_groups"],
        json!([{"name": "sales-emea", "organizations": ["acme-sales"]}, {"name": "everyone", "organizations": ["acme-sales"]}])
    );
    let trace = ada["evaluation"]["user"]["trace"].as_array().expect("a user trace");
    assert!(!trace.is_empty());
    assert!(trace.iter().any(|s| s["rule"] == "sales" && s["outcome"] == "matched"), "{trace:?}");
    assert!(!ada["evaluation"]["groups"]["trace"].as_array().unwrap().is_empty());
    assert!(ada["evaluation"]["fuel"].as_i64().unwrap() > 0);
    let user_id = ada["user_id"].as_str().expect("a user id").to_owned();
    let decision_id = ada["decision_id"].as_str().expect("a decision id").to_owned();

    // The same user again: the same user record, a new decision.
    let (status, again) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{again}");
    assert_eq!((again["user_id"].as_str(), again["created"].as_bool()), (Some(user_id.as_str()), Some(false)));
    assert_ne!(again["decision_id"], ada["decision_id"]);

    // No rule matches and there is no fallback: blocked, and why.
    let (status, bob) = fx.login(&bob_claims());
    assert_eq!(status, 200, "{bob}");
    assert_eq!(bob["blocked"], true, "{bob}");
    assert_eq!(bob["organization"], Value::Null);
    assert_eq!(bob["groups"], json!([]));
    let reason = bob["reason"].as_str().expect("a reason");
    assert!(reason.contains("No organization"), "{reason}");
    assert_eq!(bob["provider_groups"], json!([{"name": "everyone", "organizations": []}]));
    assert!(!bob["evaluation"]["user"]["trace"].as_array().unwrap().is_empty());

    // The stored users.
    let (status, stored) = server.get(&format!("{}/users/{user_id}", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["id"], user_id.as_str());
    assert_eq!(stored["user_name"], "ada@acme.com");
    assert_eq!(stored["external_id"], "entra-ada");
    assert_eq!(stored["email"], "ada@acme.com");
    assert_eq!(stored["display_name"], "Ada Lovelace");
    assert_eq!(stored["organization"], "acme-sales");
    assert_eq!(stored["rule_groups"], json!(["all-managers"]));
    assert_eq!(stored["provider_groups"], json!(["sales-emea", "everyone"]));
    assert_eq!(stored["attributes"]["department"], json!(["Sales"]));
    assert_eq!(stored["status"], "active");
    assert!(stored["last_login_at"].as_i64().is_some());
    let (_, stored_bob) =
        server.get(&format!("{}/users/{}", fx.realm_path(), bob["user_id"].as_str().unwrap()), fx.admin());
    assert_eq!(stored_bob["organization"], Value::Null, "{stored_bob}");
    assert_eq!(stored_bob["rule_groups"], json!([]));

    // The decision record holds input, versions, digests, output and trace.
    let (status, record) = server.get(&format!("/v1/tenants/acme/decisions/{decision_id}"), fx.admin());
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["id"], decision_id.as_str());
    assert_eq!(record["realm_id"], REALM);
    assert_eq!(record["user_id"], user_id.as_str());
    assert_eq!(record["trigger"], "login");
    assert_eq!((record["applied"].as_bool(), record["shadow"].as_bool()), (Some(true), Some(false)));
    assert_eq!(record["user_rules_version"], 1);
    assert_eq!(record["user_rules_digest"], ada["evaluation"]["user"]["module"]["digest"]);
    assert_eq!(record["group_rules_version"], 1);
    let output = &record["output"];
    assert_eq!(output["user"]["organization"], "acme-sales", "{output}");
    let input = &record["input"];
    assert_eq!(input["user"]["external_id"], "entra-ada", "{input}");
    assert_eq!(input["context"]["realm"], REALM);
    let recorded_trace = &record["trace"];
    assert_eq!(recorded_trace["user"], ada["evaluation"]["user"]["trace"]);
    let (status, list) = server.get(&format!("/v1/tenants/acme/decisions?realm={REALM}&user={user_id}"), fx.admin());
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["decisions"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [again["decision_id"].as_str().unwrap(), decision_id.as_str()], "newest first");

    // Claims the service cannot use.
    let (status, body) = fx.login(&json!({"provider_user_id": " ", "user_name": "x@acme.com"}));
    assert!(assert_error(status, &body, 422, "unprocessable").contains("provider_user_id"), "{body}");
    let (status, body) = server.post("/v1/tenants/acme/realms/okta/login", fx.eval(), &ada_claims());
    assert_error(status, &body, 404, "not_found");
}

/// The stored users are searched by any of their names (ignoring case, `%` and `_` taken
/// literally), filtered by status and organization, paged in user-name order; a user's sessions
/// are listed with their state, never their tokens, and are revoked by a deactivation.
fn users_are_searched_paged_and_their_sessions_listed(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (_, ada) = fx.login(&ada_claims());
    fx.login(&ada_claims());
    let (_, bob) = fx.login(&bob_claims());
    let users = |query: &str| {
        let (status, page) = server.get(&format!("{}/users{query}", fx.realm_path()), fx.admin());
        assert_eq!(status, 200, "{query}: {page}");
        page
    };
    let names = |page: &Value| -> Vec<String> {
        page["users"].as_array().unwrap().iter().map(|u| u["user_name"].as_str().unwrap().to_owned()).collect()
    };
    let all = users("");
    assert_eq!(names(&all), ["ada@acme.com", "bob@example.org"], "{all}");
    assert_eq!(all["next_after"], Value::Null);
    assert_eq!(
        all["users"][0],
        server.get(&format!("{}/users/{}", fx.realm_path(), ada["user_id"].as_str().unwrap()), fx.admin()).1
    );
    assert_eq!(names(&users("?search=LOVE")), ["ada@acme.com"], "display name, ignoring case");
    assert_eq!(names(&users("?search=entra-b")), ["bob@example.org"], "external id");
    assert_eq!(names(&users("?search=EXAMPLE.org")), ["bob@example.org"], "user name");
    assert!(names(&users("?search=%25")).is_empty(), "% is literal");
    assert!(names(&users("?search=ada_")).is_empty(), "_ is literal");
    assert_eq!(names(&users("?organization=acme-sales")), ["ada@acme.com"]);
    let first = users("?limit=1");
    assert_eq!(names(&first), ["ada@acme.com"]);
    let after = first["next_after"].as_str().expect("a cursor on a full page").to_owned();
    let second = users(&format!("?limit=1&after={after}"));
    assert_eq!(names(&second), ["bob@example.org"]);
    let last = users(&format!("?limit=1&after={}", second["next_after"].as_str().unwrap()));
    assert!(names(&last).is_empty() && last["next_after"].is_null(), "{last}");

    let sessions_path = format!("{}/users/{}/sessions", fx.realm_path(), ada["user_id"].as_str().unwrap());
    let (status, sessions) = server.get(&sessions_path, fx.admin());
    assert_eq!(status, 200, "{sessions}");
    let listed = sessions["sessions"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "a session per login: {sessions}");
    assert!(listed.iter().all(|s| s["state"] == "active" && s["revoked_at"].is_null()), "{sessions}");
    assert!(listed[0]["created_at"].as_i64() >= listed[1]["created_at"].as_i64(), "newest first");
    assert!(listed.iter().all(|s| s.get("id").is_none() && s.get("token").is_none()), "never a token: {sessions}");
    assert!(!sessions.to_string().contains(ada["session"].as_str().unwrap()));

    let deactivate = format!("{}/users/{}/deactivate", fx.realm_path(), ada["user_id"].as_str().unwrap());
    let (status, body) = server.post(&deactivate, fx.admin(), &json!({"reason": "left the company"}));
    assert_eq!(status, 200, "{body}");
    let (_, sessions) = server.get(&sessions_path, fx.admin());
    assert!(
        sessions["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "revoked" && s["revoked_reason"] == "left the company" && s["revoked_at"].is_i64()),
        "{sessions}"
    );
    assert_eq!(names(&users("?status=deactivated")), ["ada@acme.com"]);
    assert_eq!(names(&users("?status=active")), ["bob@example.org"]);
    assert_eq!(bob["blocked"], true);

    for query in ["?status=gone", "?colour=red", "?limit=0", "?limit=1&limit=2"] {
        let (status, body) = server.get(&format!("{}/users{query}", fx.realm_path()), fx.admin());
        assert_error(status, &body, 400, "bad_request");
    }
    let (status, body) = server.get(&format!("{}/users?search={}", fx.realm_path(), "a".repeat(201)), fx.admin());
    assert!(assert_error(status, &body, 400, "bad_request").contains("200 characters"), "{body}");
    let (status, body) = server.get(&format!("{}/users/nobody/sessions", fx.realm_path()), fx.admin());
    assert_error(status, &body, 404, "not_found");
}

/// Scenario 4: A user name already held by another provider user: 409 naming both provider ids and the
/// existing user; nothing merged.
fn login_refuses_a_user_name_held_by_another_provider_user(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (status, ada) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{ada}");
    let user_id = ada["user_id"].as_str().unwrap();
    let mut impostor = ada_claims();
    impostor["provider_user_id"] = json!("entra-someone-else");
    let (status, body) = fx.login(&impostor);
    let message = assert_error(status, &body, 409, "conflict");
    for needle in ["entra-someone-else", "entra-ada", user_id, "ada@acme.com"] {
        assert!(message.contains(needle), "{needle:?} missing from {message:?}");
    }
    let (_, stored) = server.get(&format!("{}/users/{user_id}", fx.realm_path()), fx.admin());
    assert_eq!(stored["external_id"], "entra-ada", "{stored}");
    let (_, list) = server.get("/v1/tenants/acme/decisions", fx.admin());
    assert_eq!(list["decisions"].as_array().unwrap().len(), 1, "the refused login recorded nothing");
}

/// Scenario 5: Versions: a second version decides once activated; rollback returns to the first.
fn activation_and_rollback_change_what_logins_decide(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let versions = format!("{}/modules/user/versions", fx.realm_path());
    let v2 = fx.upload("user", "user_rules", &user_rules_v2(), "sales to EMEA");
    assert_eq!(v2["version"], 2, "{v2}");
    let (_, list) = server.get(&versions, fx.admin());
    assert_eq!(list["active"], 1, "{list}");
    assert_eq!(
        list["versions"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(list["versions"][1]["note"], "sales to EMEA");

    let (_, before) = fx.login(&ada_claims());
    assert_eq!(before["organization"], "acme-sales", "{before}");

    let (status, activated) = server.post_empty(&format!("{versions}/2/activate"), fx.admin());
    assert_eq!(status, 200, "{activated}");
    assert_eq!((activated["active"].as_i64(), activated["previous"].as_i64()), (Some(2), Some(1)), "{activated}");
    let (_, list) = server.get(&versions, fx.admin());
    assert_eq!(list["active"], 2, "{list}");
    let (_, realm) = server.get(&fx.realm_path(), fx.admin());
    assert_eq!(realm["user_rules_version"], 2, "{realm}");
    let (status, by_v2) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{by_v2}");
    assert_eq!(by_v2["organization"], "acme-emea", "{by_v2}");
    assert_eq!(by_v2["evaluation"]["user"]["rule"], "sales v2");
    assert_eq!(by_v2["evaluation"]["user"]["module"]["version"], 2);
    assert_eq!(by_v2["groups"], json!([]), "v2 has no group entries");
    let (_, bob) = fx.login(&bob_claims());
    assert_eq!(
        (bob["organization"].as_str(), bob["blocked"].as_bool()),
        (Some("acme"), Some(false)),
        "v2 has a fallback: {bob}"
    );
    assert_eq!(bob["evaluation"]["user"]["rule"], "fallback");

    let (status, rolled) = server.post_empty(&format!("{}/modules/user/rollback", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{rolled}");
    assert_eq!((rolled["active"].as_i64(), rolled["previous"].as_i64()), (Some(1), Some(2)), "{rolled}");
    let (_, list) = server.get(&versions, fx.admin());
    assert_eq!(list["active"], 1, "{list}");
    let (_, by_v1) = fx.login(&ada_claims());
    assert_eq!(by_v1["organization"], "acme-sales", "{by_v1}");
    assert_eq!(by_v1["evaluation"]["user"]["module"]["version"], 1);
    let (_, stored) =
        server.get(&format!("{}/users/{}", fx.realm_path(), by_v1["user_id"].as_str().unwrap()), fx.admin());
    assert_eq!(stored["organization"], "acme-sales");

    // Versions that do not exist cannot be activated.
    let (status, body) = server.post_empty(&format!("{versions}/9/activate"), fx.admin());
    assert_error(status, &body, 404, "not_found");
    let (_, list) = server.get(&versions, fx.admin());
    assert_eq!(list["active"], 1, "{list}");
}

/// Impact preview: a candidate version is evaluated against every stored user, beside the active
/// version, page by page; only users whose decision would change are listed; nothing changes.
fn impact_preview_shows_who_a_candidate_would_change_page_by_page(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (_, ada) = fx.login(&ada_claims());
    let (_, bob) = fx.login(&bob_claims());
    assert_eq!((ada["organization"].as_str(), bob["blocked"].as_bool()), (Some("acme-sales"), Some(true)));
    fx.upload("user", "user_rules", &user_rules_v2(), "candidate");
    let (_, decisions_before) = server.get("/v1/tenants/acme/decisions", fx.admin());
    let impact = format!("{}/modules/user/versions/2/impact", fx.realm_path());

    let (status, all) = server.post(&impact, fx.admin(), &json!({}));
    assert_eq!(status, 200, "{all}");
    assert_eq!((all["evaluated"].as_u64(), all["changed"].as_u64()), (Some(2), Some(2)), "{all}");
    assert_eq!(all["next_after"], Value::Null, "one page holds both users: {all}");
    let by_name =
        |name: &str| all["changes"].as_array().unwrap().iter().find(|c| c["user_name"] == name).cloned().unwrap();
    let ada_change = by_name("ada@acme.com");
    assert_eq!(
        (ada_change["active"]["organization"].as_str(), ada_change["candidate"]["organization"].as_str()),
        (Some("acme-sales"), Some("acme-emea"))
    );
    assert_eq!(
        (ada_change["active"]["groups"].clone(), ada_change["candidate"]["groups"].clone()),
        (json!(["all-managers"]), json!([]))
    );
    let bob_change = by_name("bob@example.org");
    assert_eq!(
        (bob_change["active"]["organization"].clone(), bob_change["candidate"]["organization"].clone()),
        (Value::Null, json!("acme"))
    );

    // The active version against itself changes nobody.
    let (status, same) =
        server.post(&format!("{}/modules/user/versions/1/impact", fx.realm_path()), fx.admin(), &json!({}));
    assert_eq!((status, same["evaluated"].as_u64(), same["changed"].as_u64()), (200, Some(2), Some(0)), "{same}");

    // Page by page.
    let (_, first) = server.post(&impact, fx.admin(), &json!({"limit": 1}));
    assert_eq!(first["evaluated"], 1, "{first}");
    let after = first["next_after"].as_str().expect("a next page").to_owned();
    let (_, second) = server.post(&impact, fx.admin(), &json!({"limit": 1, "after": after}));
    assert_eq!(second["evaluated"], 1, "{second}");
    assert_ne!(first["changes"][0]["user_id"], second["changes"][0]["user_id"]);

    let (status, body) =
        server.post(&format!("{}/modules/user/versions/9/impact", fx.realm_path()), fx.admin(), &json!({}));
    assert_error(status, &body, 404, "not_found");
    let (status, body) = server.post(&impact, fx.admin(), &json!({"limit": 0}));
    assert_error(status, &body, 400, "bad_request");

    let (_, decisions_after) = server.get("/v1/tenants/acme/decisions", fx.admin());
    assert_eq!(decisions_after, decisions_before, "a preview records nothing");
    let (_, realm) = server.get(&fx.realm_path(), fx.admin());
    assert_eq!(realm["user_rules_version"], 1, "a preview activates nothing");
}

/// Scenario 6: The test panel: dry runs of a stored user (active or candidate version) and of an ad-hoc
/// user decide without changing anything.
fn test_panel_dry_runs_change_nothing(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    fx.upload("user", "user_rules", &user_rules_v2(), "candidate");
    let (_, ada) = fx.login(&ada_claims());
    let user_id = ada["user_id"].as_str().unwrap();
    let user_path = format!("{}/users/{user_id}", fx.realm_path());
    let (_, user_before) = server.get(&user_path, fx.admin());
    let (_, decisions_before) = server.get("/v1/tenants/acme/decisions", fx.admin());
    let applied_before = audit_actions(server, &fx.tenant, "decision.applied");

    // Candidate version 2 while version 1 is active.
    let (status, dry) = server.post(&format!("{user_path}/dry-run"), fx.admin(), &json!({"user_rules_version": 2}));
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["blocked"], false);
    assert_eq!(dry["evaluation"]["user"]["organization"], "acme-emea", "{dry}");
    assert_eq!(dry["evaluation"]["user"]["rule"], "sales v2");
    assert_eq!(dry["evaluation"]["user"]["module"]["version"], 2);
    assert!(!dry["evaluation"]["user"]["trace"].as_array().unwrap().is_empty());
    assert_eq!(dry["provider_groups"][1], json!({"name": "everyone", "organizations": ["acme-emea"]}));
    // Without a body: the active version.
    let (status, active) = server.post_empty(&format!("{user_path}/dry-run"), fx.admin());
    assert_eq!(status, 200, "{active}");
    assert_eq!(active["evaluation"]["user"]["organization"], "acme-sales", "{active}");
    assert_eq!(active["evaluation"]["user"]["module"]["version"], 1);
    // No user rules at all (explicit null) and no default organization: blocked.
    let (status, none) = server.post(&format!("{user_path}/dry-run"), fx.admin(), &json!({"user_rules_version": null}));
    assert_eq!(status, 200, "{none}");
    assert_eq!(
        (none["blocked"].as_bool(), none["evaluation"]["user"]["module"].is_null()),
        (Some(true), true),
        "{none}"
    );

    // An ad-hoc user who never logged in.
    let carol = json!({"user_name": "carol@acme.com", "attributes": {"department": ["Engineering"]}, "provider_groups": ["engineers"]});
    let (status, adhoc) = server.post(&format!("{}/dry-run", fx.realm_path()), fx.admin(), &json!({"user": carol}));
    assert_eq!(status, 200, "{adhoc}");
    assert_eq!(adhoc["evaluation"]["user"]["organization"], "acme-engineering", "{adhoc}");
    assert_eq!(adhoc["provider_groups"], json!([{"name": "engineers", "organizations": ["acme-engineering"]}]));
    let (status, adhoc_v2) = server.post(
        &format!("{}/dry-run", fx.realm_path()),
        fx.admin(),
        &json!({"user": carol, "user_rules_version": 2}),
    );
    assert_eq!(status, 200, "{adhoc_v2}");
    assert_eq!(adhoc_v2["evaluation"]["user"]["organization"], "acme", "{adhoc_v2}");
    assert_eq!(adhoc_v2["evaluation"]["user"]["rule"], "fallback");

    // Nothing changed: the stored user, the decisions, the audit log.
    let (_, user_after) = server.get(&user_path, fx.admin());
    assert_eq!(user_after, user_before);
    let (_, decisions_after) = server.get("/v1/tenants/acme/decisions", fx.admin());
    assert_eq!(decisions_after, decisions_before);
    assert_eq!(audit_actions(server, &fx.tenant, "decision.applied"), applied_before);
    let (_, realm) = server.get(&fx.realm_path(), fx.admin());
    assert_eq!(realm["user_rules_version"], 1, "a dry run activates nothing");

    // Unknown users and versions.
    let (status, body) = server.post_empty(&format!("{}/users/nobody/dry-run", fx.realm_path()), fx.admin());
    assert_error(status, &body, 404, "not_found");
    let (status, body) = server.post(&format!("{user_path}/dry-run"), fx.admin(), &json!({"user_rules_version": 7}));
    assert_error(status, &body, 404, "not_found");
}

/// Scenario 7: Replay: identical on the recorded version; a candidate that decides differently shows
/// both outputs.
fn replay_is_identical_on_the_recorded_version_and_shows_a_candidates_difference(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    fx.upload("user", "user_rules", &user_rules_v2(), "candidate");
    let (_, ada) = fx.login(&ada_claims());
    let decision = ada["decision_id"].as_str().unwrap();
    let replay = format!("/v1/tenants/acme/decisions/{decision}/replay");

    let (status, same) = server.post_empty(&replay, fx.admin());
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["decision_id"], decision);
    assert_eq!(same["identical"], true, "evaluation is deterministic: {same}");
    assert_eq!(same["output_identical"], true);
    assert_eq!(same["versions"]["user_rules"], 1);
    assert_eq!(same["recorded"], same["replayed"]);
    assert_eq!(same["replayed"]["output"]["user"]["organization"], "acme-sales");
    assert_eq!(same["difference"]["changed"], json!([]), "{same}");
    assert_eq!(same["difference"]["organization"], Value::Null);

    let (status, candidate) = server.post(&replay, fx.admin(), &json!({"user_rules_version": 2}));
    assert_eq!(status, 200, "{candidate}");
    assert_eq!(candidate["identical"], false, "{candidate}");
    assert_eq!(candidate["output_identical"], false);
    assert_eq!(candidate["versions"]["user_rules"], 2);
    assert_eq!(candidate["versions"]["group_rules"], 1);
    assert_eq!(candidate["recorded"]["output"]["user"]["organization"], "acme-sales");
    assert_eq!(candidate["recorded"]["output"]["user"]["rule"], "sales");
    assert_eq!(candidate["replayed"]["output"]["user"]["organization"], "acme-emea");
    assert_eq!(candidate["replayed"]["output"]["user"]["rule"], "sales v2");
    assert!(!candidate["replayed"]["trace"]["user"].as_array().unwrap().is_empty());
    // Which fields changed, each with its before and after.
    let difference = &candidate["difference"];
    let changed: Vec<&str> = difference["changed"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(changed[..3], ["organization", "rule", "groups"], "{candidate}");
    assert_eq!(changed.last(), Some(&"user_trace"), "{candidate}");
    assert_eq!(difference["organization"], json!({"recorded": "acme-sales", "replayed": "acme-emea"}));
    assert_eq!(difference["rule"], json!({"recorded": "sales", "replayed": "sales v2"}));
    assert_eq!((&difference["groups_added"], &difference["groups_removed"]), (&json!([]), &json!(["all-managers"])));
    let trace = &difference["user_trace"];
    let first = trace["first_difference"].as_u64().unwrap() as usize;
    assert_eq!(trace["recorded"], candidate["recorded"]["trace"]["user"][first], "{trace}");
    assert_eq!(trace["replayed"], candidate["replayed"]["trace"]["user"][first], "{trace}");
    assert_eq!(difference["group_trace"], Value::Null, "the group rules did not change");

    // Replays change nothing.
    let (_, list) = server.get("/v1/tenants/acme/decisions", fx.admin());
    assert_eq!(list["decisions"].as_array().unwrap().len(), 1, "{list}");
    let (status, body) = server.post(&replay, fx.admin(), &json!({"user_rules_version": 42}));
    assert_error(status, &body, 404, "not_found");
    let (status, body) = server.post_empty("/v1/tenants/acme/decisions/no-such-decision/replay", fx.admin());
    assert_error(status, &body, 404, "not_found");
}

/// A candidate over past logins: which would have ended differently, page by page, in a window.
fn backtest_reports_which_past_logins_a_candidate_would_have_changed(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    fx.upload("user", "user_rules", &user_rules_v2(), "candidate");
    fx.upload("user", "user_rules", &user_rules_v1(), "v1 again");
    let before_logins = now_millis();
    let (_, ada) = fx.login(&ada_claims());
    let (_, bob) = fx.login(&bob_claims());
    let backtest = |version: i64| format!("{}/modules/user/versions/{version}/backtest", fx.realm_path());

    let (status, report) = server.post_empty(&backtest(2), fx.admin());
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["examined"].as_i64(), report["changed"].as_i64(), report["failed"].as_i64()),
        (Some(2), Some(2), Some(0)),
        "{report}"
    );
    let changes = report["changes"].as_array().unwrap();
    let ada_change = changes.iter().find(|c| c["decision_id"] == ada["decision_id"]).expect("Ada's login changes");
    assert_eq!(ada_change["user_id"], ada["user_id"]);
    assert_eq!(ada_change["recorded"]["organization"], "acme-sales");
    assert_eq!(ada_change["candidate"]["organization"], "acme-emea");
    assert_eq!(ada_change["recorded"]["groups"], json!(["all-managers"]));
    assert_eq!(ada_change["candidate"]["groups"], json!([]));
    let bob_change = changes.iter().find(|c| c["decision_id"] == bob["decision_id"]).expect("Bob's login changes");
    assert_eq!(bob_change["recorded"]["organization"], Value::Null, "Bob was blocked");
    assert_eq!(bob_change["candidate"]["organization"], "acme");
    assert_eq!(report["next_before"], Value::Null);

    // The same rules as the active version change nothing.
    let (status, same) = server.post_empty(&backtest(3), fx.admin());
    assert_eq!(status, 200, "{same}");
    assert_eq!((same["examined"].as_i64(), same["changed"].as_i64()), (Some(2), Some(0)), "{same}");

    // Page by page, newest first.
    let (_, first) = server.post(&backtest(2), fx.admin(), &json!({"limit": 1}));
    assert_eq!(first["examined"], 1, "{first}");
    assert_eq!(first["changes"][0]["decision_id"], bob["decision_id"]);
    let (_, second) = server.post(&backtest(2), fx.admin(), &json!({"limit": 1, "before": first["next_before"]}));
    assert_eq!(second["changes"][0]["decision_id"], ada["decision_id"], "{second}");

    // A window before the logins holds nothing.
    let (_, empty) = server.post(&backtest(2), fx.admin(), &json!({"until": before_logins}));
    assert_eq!((empty["examined"].as_i64(), empty["changed"].as_i64()), (Some(0), Some(0)), "{empty}");

    // Backtests change nothing and record nothing.
    let (_, list) = server.get("/v1/tenants/acme/decisions", fx.admin());
    assert_eq!(list["decisions"].as_array().unwrap().len(), 2, "{list}");
    let (status, body) = server.post_empty(&backtest(42), fx.admin());
    assert_error(status, &body, 404, "not_found");
    let (status, body) = server.post(&backtest(2), fx.admin(), &json!({"limit": 0}));
    assert_error(status, &body, 400, "bad_request");
}

/// A shadow version runs beside every live login: recorded against the live decision, counted,
/// never applied; clearing it stops it.
fn shadow_mode_records_a_candidate_beside_live_logins_and_never_applies_it(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    fx.upload("user", "user_rules", &user_rules_v2(), "candidate");
    let shadow = format!("{}/modules/user/shadow", fx.realm_path());
    let (status, body) = server.put(&shadow, fx.admin(), &json!({"version": 42}));
    assert_error(status, &body, 404, "not_found");
    let (status, realm) = server.put(&shadow, fx.admin(), &json!({"version": 2}));
    assert_eq!(status, 200, "{realm}");
    assert_eq!((realm["user_rules_version"].as_i64(), realm["shadow_user_rules_version"].as_i64()), (Some(1), Some(2)));

    let (status, ada) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{ada}");
    assert_eq!(ada["organization"], "acme-sales", "the live version decides: {ada}");
    let shadows = wait_for_decisions(server, &fx, "shadow=true", 1);
    let recorded = &shadows[0];
    assert_eq!(recorded["shadow"], true);
    assert_eq!(recorded["applied"], false);
    assert_eq!(recorded["shadow_of"], ada["decision_id"]);
    assert_eq!(recorded["differs"], true);
    assert_eq!(recorded["user_id"], ada["user_id"]);
    assert_eq!((recorded["user_rules_version"].as_i64(), recorded["group_rules_version"].as_i64()), (Some(2), Some(1)));
    let output = &recorded["output"];
    assert_eq!(output["user"]["organization"], "acme-emea");
    let (_, user) = server.get(&format!("{}/users/{}", fx.realm_path(), ada["user_id"].as_str().unwrap()), fx.admin());
    assert_eq!(user["organization"], "acme-sales", "a shadow result is never applied: {user}");

    let (_, differing) = server.get("/v1/tenants/acme/decisions?shadow=true&differs=true", fx.admin());
    assert_eq!(differing["decisions"].as_array().unwrap().len(), 1, "{differing}");
    let (_, live) = server.get("/v1/tenants/acme/decisions?shadow=false", fx.admin());
    assert_eq!(live["decisions"].as_array().unwrap().len(), 1, "{live}");
    let (status, summary) = server.get(&format!("{}/shadow", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["shadow"]["user_rules"], 2);
    let days = summary["results"][0]["days"].clone();
    assert_eq!(
        summary["results"],
        json!([{
            "user_rules_version": 2, "group_rules_version": 1, "evaluated": 1, "differing": 1, "failed": 0,
            "last_at": recorded["created_at"], "days": days,
        }])
    );
    let day = days[0]["day"].as_str().unwrap_or_default();
    assert_eq!(days, json!([{"day": day, "evaluated": 1, "differing": 1, "failed": 0}]), "{summary}");
    assert_eq!(day, utc_day(recorded["created_at"].as_i64().unwrap()), "the recording's UTC day");
    let metrics = server.call("GET", "/metrics", None, Body::None).text;
    assert!(metrics.contains(r#"muster_shadow_evaluations_total{result="differs"} 1"#), "{metrics}");

    let (status, realm) = server.delete(&shadow, fx.admin());
    assert_eq!(status, 200, "{realm}");
    assert_eq!(realm["shadow_user_rules_version"], Value::Null);
    assert_eq!(audit_actions(server, &fx.tenant, "module.shadow_set").len(), 2);
    let (_, bob) = fx.login(&bob_claims());
    std::thread::sleep(Duration::from_millis(300));
    let (_, shadows) = server.get("/v1/tenants/acme/decisions?shadow=true", fx.admin());
    assert_eq!(shadows["decisions"].as_array().unwrap().len(), 1, "no shadow after clearing: {shadows} (bob: {bob})");
}

/// Rules that fail are never a silent gap: an impact preview lists the users they fail on
/// beside the changes, a shadow run records its failure and the summary counts it, and a live
/// login records a decision that was not applied, with the typed error, the module, its cost,
/// and a WARN line, the answer naming that record.
fn rules_that_fail_leave_a_record_in_previews_shadow_runs_and_live_logins(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (status, ada) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{ada}");
    let ada_id = ada["user_id"].as_str().unwrap();
    let wasm = trapping_user_rules();
    let digest = sha256_hex(&wasm);
    let (status, body) = server.post(
        &format!("{}/modules/user", fx.realm_path()),
        fx.admin(),
        &json!({"wasm": STANDARD.encode(&wasm), "note": "traps"}),
    );
    assert_eq!(status, 201, "{body}");

    let (status, impact) =
        server.post(&format!("{}/modules/user/versions/2/impact", fx.realm_path()), fx.admin(), &json!({}));
    assert_eq!(status, 200, "an impact preview does not fail whole: {impact}");
    assert_eq!(
        (impact["evaluated"].as_i64(), impact["changed"].as_i64(), impact["failed"].as_i64()),
        (Some(1), Some(0), Some(1))
    );
    let failure = &impact["failures"][0];
    assert_eq!(
        (&failure["user_id"], &failure["failed"], &failure["kind"]),
        (&json!(ada_id), &json!("candidate"), &json!("trap"))
    );

    let shadow = format!("{}/modules/user/shadow", fx.realm_path());
    let (status, body) = server.put(&shadow, fx.admin(), &json!({"version": 2}));
    assert_eq!(status, 200, "{body}");
    let (status, live) = fx.login(&ada_claims());
    assert_eq!(status, 200, "a failing shadow does not touch the live login: {live}");
    let shadows = wait_for_decisions(server, &fx, "shadow=true&failed=true", 1);
    assert_eq!((&shadows[0]["shadow_of"], &shadows[0]["failure"]["kind"]), (&live["decision_id"], &json!("trap")));
    let (_, summary) = server.get(&format!("{}/shadow", fx.realm_path()), fx.admin());
    assert_eq!(
        (summary["results"][0]["evaluated"].as_i64(), summary["results"][0]["failed"].as_i64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    let (status, body) = server.delete(&shadow, fx.admin());
    assert_eq!(status, 200, "{body}");

    let (status, body) =
        server.post_empty(&format!("{}/modules/user/versions/2/activate", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{body}");
    let (status, body) = fx.login(&ada_claims());
    assert!(assert_error(status, &body, 422, "rules_failed").contains("trapped"), "{body}");
    let decision_id = body["error"]["decision_id"].as_str().expect("the answer names the failure's record");
    let (status, record) = server.get(&format!("/v1/tenants/acme/decisions/{decision_id}"), fx.admin());
    assert_eq!(status, 200, "{record}");
    assert_eq!(
        (record["applied"].as_bool(), record["trigger"].as_str(), &record["output"]),
        (Some(false), Some("login"), &Value::Null)
    );
    assert_eq!((record["user_id"].as_str(), record["user_rules_version"].as_i64()), (Some(ada_id), Some(2)));
    assert_eq!(record["user_rules_digest"], digest.as_str());
    assert_eq!(record["failure"]["kind"], "trap", "{record}");
    assert!(record["failure"]["message"].as_str().unwrap().contains("user rules version 2 failed"), "{record}");
    assert!(record["fuel"].as_i64().unwrap() > 0 && record["duration_us"].as_i64().unwrap() >= 0, "{record}");
    assert_eq!(record["input"]["user"]["user_name"], "ada@acme.com", "the input is kept, as JSON");
    let (_, failed) = server.get("/v1/tenants/acme/decisions?failed=true&shadow=false", fx.admin());
    assert_eq!(failed["decisions"].as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed["decisions"][0]["id"], decision_id);
    let (_, made) = server.get("/v1/tenants/acme/decisions?failed=false&shadow=false", fx.admin());
    assert!(made["decisions"].as_array().unwrap().iter().all(|d| d["failure"].is_null()), "{made}");
    let (_, user) = server.get(&format!("{}/users/{ada_id}", fx.realm_path()), fx.admin());
    assert_eq!(user["organization"], "acme-sales", "nothing applied: {user}");

    // A backtest re-runs the failed login too: the version that works decides it, a change.
    let (status, backtest) =
        server.post_empty(&format!("{}/modules/user/versions/1/backtest", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{backtest}");
    assert_eq!(
        (backtest["examined"].as_i64(), backtest["changed"].as_i64(), backtest["failed"].as_i64()),
        (Some(3), Some(1), Some(0)),
        "two applied logins and the failed one: {backtest}"
    );
    let fixed = &backtest["changes"][0];
    assert_eq!((&fixed["decision_id"], &fixed["recorded"]), (&json!(decision_id), &Value::Null), "{fixed}");
    assert_eq!(fixed["recorded_failure"]["kind"], "trap", "{fixed}");
    assert_eq!(fixed["candidate"]["organization"], "acme-sales", "{fixed}");
    // The trapping version itself fails on every one of them.
    let (_, again) = server.post_empty(&format!("{}/modules/user/versions/2/backtest", fx.realm_path()), fx.admin());
    assert_eq!((again["changed"].as_i64(), again["failed"].as_i64()), (Some(0), Some(3)), "{again}");
    // And a replay of the failed record on the working version says the failure is what changed.
    let (status, replay) = server.post(
        &format!("/v1/tenants/acme/decisions/{decision_id}/replay"),
        fx.admin(),
        &json!({"user_rules_version": 1}),
    );
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["recorded"]["output"], Value::Null, "{replay}");
    assert_eq!(replay["replayed"]["output"]["user"]["organization"], "acme-sales", "{replay}");
    assert_eq!(replay["difference"]["changed"][0], "failure", "{replay}");

    let log = server.log();
    let warned = log.lines().find(|line| line.contains(decision_id)).unwrap_or_else(|| panic!("a log line: {log}"));
    assert!(warned.contains("WARN") && warned.contains("rules failed"), "{warned}");
}

/// A realm that asks for automatic rollback gets its previous version back once a trapping
/// version fails on `min_evaluations` live logins at the rate set: the logins fail until then,
/// the next one is decided by the previous version, and the audit log and the server log say
/// what was rolled back and why. Turned off (`null`), the same failures roll nothing back; bad
/// settings are refused and change nothing.
fn a_trapping_version_is_rolled_back_automatically_when_the_realm_asks(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (status, ada) = fx.login(&ada_claims());
    assert_eq!((status, &ada["organization"]), (200, &json!("acme-sales")), "{ada}");
    let (_, realm) = server.get(&fx.realm_path(), fx.admin());
    assert_eq!(realm["auto_rollback"], Value::Null, "off unless asked: {realm}");
    let auto = |body: Value| server.patch(&fx.realm_path(), fx.admin(), &json!({ "auto_rollback": body }));
    for bad in [
        json!({"max_failure_rate": 0, "min_evaluations": 3}),
        json!({"max_failure_rate": 1.5, "min_evaluations": 3}),
        json!({"max_failure_rate": 0.5, "min_evaluations": 0}),
        json!({"max_failure_rate": 0.5}),
        json!({"max_failure_rate": 0.5, "min_evaluations": 3, "window": 60}),
        json!([0.5, 3]),
        json!("on"),
    ] {
        let (status, body) = auto(bad.clone());
        assert!((400..500).contains(&status) && body["error"]["code"].is_string(), "{bad}: {status} {body}");
    }
    let (status, body) = auto(json!({"max_failure_rate": 0, "min_evaluations": 3}));
    assert!(assert_error(status, &body, 422, "unprocessable").contains("max_failure_rate must be greater than 0"));
    let setting = json!({"max_failure_rate": 0.5, "min_evaluations": 3});
    let (status, realm) = auto(setting.clone());
    assert_eq!((status, &realm["auto_rollback"]), (200, &setting), "{realm}");

    let (status, body) = server.post(
        &format!("{}/modules/user", fx.realm_path()),
        fx.admin(),
        &json!({"wasm": STANDARD.encode(trapping_user_rules()), "note": "traps"}),
    );
    assert_eq!(status, 201, "{body}");
    let activate = || {
        let (status, body) =
            server.post_empty(&format!("{}/modules/user/versions/2/activate", fx.realm_path()), fx.admin());
        assert_eq!(status, 200, "{body}");
    };
    let active = || server.get(&fx.realm_path(), fx.admin()).1["user_rules_version"].as_i64();
    activate();
    for attempt in 1..=3 {
        assert_eq!(active(), Some(2), "before failure {attempt}");
        let (status, body) = fx.login(&ada_claims());
        assert_error(status, &body, 422, "rules_failed");
    }
    assert_eq!(active(), Some(1), "the third failure of three reached the rate: rolled back");
    let (status, back) = fx.login(&ada_claims());
    assert_eq!((status, &back["organization"]), (200, &json!("acme-sales")), "{back}");
    let (_, record) =
        server.get(&format!("/v1/tenants/acme/decisions/{}", back["decision_id"].as_str().unwrap()), fx.admin());
    assert_eq!(record["user_rules_version"], 1, "{record}");
    let rolled = audit_actions(server, &fx.tenant, "module.rolled_back_automatically");
    assert_eq!(rolled.len(), 1, "once: {rolled:?}");
    assert_eq!((&rolled[0]["actor"], &rolled[0]["target"]), (&json!("system"), &json!("realm/entra/user/1")));
    let details = &rolled[0]["details"];
    assert_eq!(
        (&details["kind"], &details["from"], &details["to"], &details["evaluations"], &details["failures"]),
        (&json!("user"), &json!(2), &json!(1), &json!(3), &json!(3)),
        "{details}"
    );
    assert_eq!((&details["rate"], &details["max_failure_rate"]), (&json!(1.0), &json!(0.5)), "{details}");
    let log = server.log();
    assert!(log.lines().any(|line| line.contains("rolled back automatically") && line.contains("WARN")), "{log}");

    // Off: the same failures, and more, roll nothing back.
    let (status, realm) = auto(Value::Null);
    assert_eq!((status, &realm["auto_rollback"]), (200, &Value::Null), "{realm}");
    activate();
    for _ in 0..5 {
        let (status, body) = fx.login(&ada_claims());
        assert_error(status, &body, 422, "rules_failed");
    }
    assert_eq!(active(), Some(2), "nothing rolled back when the realm does not ask");
    assert_eq!(audit_actions(server, &fx.tenant, "module.rolled_back_automatically").len(), 1);
    let updates = audit_actions(server, &fx.tenant, "realm.updated");
    let last = updates.last().unwrap();
    assert_eq!(last["details"], json!({"auto_rollback": null}), "{last}");
}

/// The realm's failure policy decides a live login whose rules trap: `last_decision` keeps a
/// stored user's organization and groups and blocks a first login, `fallback_organization`
/// places the user there without rule-based groups, `fail_closed` blocks. Each record keeps the
/// failure and names the policy; a replay of it still runs; failures are counted by policy and
/// kind; PATCH refuses a fallback organization the tenant does not have.
fn failure_policies_decide_live_logins_whose_rules_trap(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (status, ada) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{ada}");
    let (ada_id, ada_groups) = (ada["user_id"].as_str().unwrap().to_owned(), ada["groups"].clone());
    assert_eq!((&ada["organization"], ada_groups.as_array().map(Vec::len)), (&json!("acme-sales"), Some(1)));
    let (status, realm) = server.get(&fx.realm_path(), fx.admin());
    assert_eq!((status, &realm["failure_policy"]), (200, &json!({"policy": "fail_closed"})), "{realm}");

    let policy = |body: Value| server.patch(&fx.realm_path(), fx.admin(), &json!({ "failure_policy": body }));
    let (status, body) = policy(json!({"policy": "fallback_organization", "organization": "nowhere"}));
    assert!(assert_error(status, &body, 422, "unprocessable").contains("no organization nowhere"), "{body}");
    for bad in [
        json!({"policy": "fallback_organization"}),
        json!({"policy": "fail_open"}),
        json!({"policy": "last_decision", "organization": "acme"}),
        Value::Null,
    ] {
        let (status, body) = policy(bad.clone());
        assert!((400..500).contains(&status) && body["error"]["code"].is_string(), "{bad}: {status} {body}");
    }
    let (_, realm) = server.get(&fx.realm_path(), fx.admin());
    assert_eq!(realm["failure_policy"], json!({"policy": "fail_closed"}), "refusals change nothing: {realm}");
    // A realm may be created with its policy, whose fallback organization must exist.
    let fallback = json!({"policy": "fallback_organization", "organization": "acme"});
    let (status, created) = server.post(
        "/v1/tenants/acme/realms",
        fx.admin(),
        &json!({"id": "okta", "name": "O", "failure_policy": fallback}),
    );
    assert_eq!((status, &created["failure_policy"]), (201, &fallback), "{created}");
    let unknown = json!({"id": "saml", "name": "S", "failure_policy": {"policy": "fallback_organization", "organization": "nowhere"}});
    let (status, body) = server.post("/v1/tenants/acme/realms", fx.admin(), &unknown);
    assert!(assert_error(status, &body, 422, "unprocessable").contains("no organization nowhere"), "{body}");

    let wasm = trapping_user_rules();
    let (status, body) = server.post(
        &format!("{}/modules/user", fx.realm_path()),
        fx.admin(),
        &json!({"wasm": STANDARD.encode(&wasm), "note": "traps"}),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        server.post_empty(&format!("{}/modules/user/versions/2/activate", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{body}");
    let record = |id: &Value| {
        let (status, record) = server.get(&format!("/v1/tenants/acme/decisions/{}", id.as_str().unwrap()), fx.admin());
        assert_eq!(status, 200, "{record}");
        record
    };

    // last_decision: Ada's previous decision stands; Bob, never decided about, is blocked.
    let (status, realm) = policy(json!({"policy": "last_decision"}));
    assert_eq!((status, &realm["failure_policy"]), (200, &json!({"policy": "last_decision"})), "{realm}");
    let (status, kept) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{kept}");
    assert_eq!(
        (&kept["blocked"], &kept["organization"], &kept["groups"]),
        (&json!(false), &json!("acme-sales"), &ada_groups)
    );
    assert!(kept["session"].is_string() && kept.get("evaluation").is_none(), "{kept}");
    assert_eq!(
        (&kept["failure"]["kind"], &kept["failure_policy"]["policy"]),
        (&json!("trap"), &json!("last_decision"))
    );
    let kept_record = record(&kept["decision_id"]);
    assert_eq!((&kept_record["applied"], &kept_record["output"]), (&json!(true), &Value::Null), "{kept_record}");
    assert_eq!(kept_record["failure"]["kind"], "trap", "{kept_record}");
    assert_eq!(
        (&kept_record["failure_policy"]["policy"], &kept_record["failure_policy"]["organization"]),
        (&json!("last_decision"), &json!("acme-sales")),
        "{kept_record}"
    );
    let (status, body) = fx.login(&bob_claims());
    assert_error(status, &body, 422, "rules_failed");
    let closed = record(&body["error"]["decision_id"]);
    assert_eq!((&closed["applied"], &closed["failure_policy"]["policy"]), (&json!(false), &json!("fail_closed")));
    assert!(closed["failure_policy"]["reason"].as_str().unwrap().contains("no previous decision"), "{closed}");

    // fallback_organization: Bob is placed there, with no rule-based groups.
    let (status, body) = server.put("/v1/tenants/acme/organizations/quarantine", fx.admin(), &json!({"name": "Q"}));
    assert_eq!(status, 200, "{body}");
    let (status, realm) = policy(json!({"policy": "fallback_organization", "organization": "quarantine"}));
    assert_eq!(status, 200, "{realm}");
    assert_eq!(realm["failure_policy"], json!({"policy": "fallback_organization", "organization": "quarantine"}));
    let (status, placed) = fx.login(&bob_claims());
    assert_eq!(status, 200, "{placed}");
    assert_eq!(
        (&placed["organization"], &placed["groups"], &placed["created"]),
        (&json!("quarantine"), &json!([]), &json!(true))
    );
    let placed_record = record(&placed["decision_id"]);
    assert_eq!(placed_record["failure_policy"]["policy"], "fallback_organization", "{placed_record}");
    assert_eq!((&placed_record["applied"], &placed_record["failure"]["kind"]), (&json!(true), &json!("trap")));

    // fail_closed: blocked, as before, and the record says so.
    let (status, _) = policy(json!({"policy": "fail_closed"}));
    assert_eq!(status, 200);
    let (status, body) = fx.login(&ada_claims());
    assert_error(status, &body, 422, "rules_failed");
    assert_eq!(record(&body["error"]["decision_id"])["failure_policy"]["policy"], "fail_closed");
    let (_, user) = server.get(&format!("{}/users/{ada_id}", fx.realm_path()), fx.admin());
    assert_eq!(user["organization"], "acme-sales", "nothing applied: {user}");

    // A record the policy decided replays like any failure: the rules as they are.
    let (status, replay) = server.post(
        &format!("/v1/tenants/acme/decisions/{}/replay", kept["decision_id"].as_str().unwrap()),
        fx.admin(),
        &json!({"user_rules_version": 1}),
    );
    assert_eq!(status, 200, "{replay}");
    assert_eq!((&replay["recorded"]["output"], &replay["difference"]["changed"][0]), (&Value::Null, &json!("failure")));
    let updates = audit_actions(server, &fx.tenant, "realm.updated");
    assert_eq!(updates.len(), 3, "one entry per change, none for refusals: {updates:?}");

    let metrics = server.call("GET", "/metrics", None, Body::None).text;
    for (policy, count) in [("last_decision", 1), ("fallback_organization", 1), ("fail_closed", 2)] {
        let line = format!(r#"muster_rule_failures_total{{policy="{policy}",kind="trap"}} {count}"#);
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    assert!(!metrics.contains("entra") && !metrics.contains("acme"), "no tenant ids in labels");
}

/// Decision retention: validated, audited, and a purge keeps what is younger than the setting.
fn retention_is_set_per_tenant_and_purges_on_demand(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    fx.login(&ada_claims());
    let retention = "/v1/tenants/acme/retention";
    for bad in [json!({"decision_retention_days": 0}), json!({"decision_retention_days": 40_000})] {
        let (status, body) = server.put(retention, fx.admin(), &bad);
        assert_error(status, &body, 422, "unprocessable");
    }
    let (status, purge) = server.post_empty("/v1/tenants/acme/decisions/purge", fx.admin());
    assert_eq!(status, 200, "{purge}");
    assert_eq!(purge, json!({"purged": 0, "cutoff": null}), "no retention: kept forever");

    let (status, tenant) = server.put(retention, fx.admin(), &json!({"decision_retention_days": 30}));
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["decision_retention_days"], 30);
    let started = now_millis();
    let (_, purge) = server.post_empty("/v1/tenants/acme/decisions/purge", fx.admin());
    assert_eq!(purge["purged"], 0, "{purge}");
    let cutoff = purge["cutoff"].as_i64().unwrap();
    let thirty_days = 30 * 24 * 3600 * 1000;
    assert!((started - thirty_days - 5_000..=now_millis() - thirty_days).contains(&cutoff), "{purge}");
    let (_, list) = server.get("/v1/tenants/acme/decisions", fx.admin());
    assert_eq!(list["decisions"].as_array().unwrap().len(), 1, "a fresh decision is kept: {list}");
    let updates = audit_actions(server, &fx.tenant, "tenant.updated");
    let details = &updates.last().unwrap()["details"];
    assert_eq!(details["decision_retention_days"], 30, "{updates:?}");

    let (status, tenant) = server.put(retention, fx.admin(), &json!({"decision_retention_days": null}));
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["decision_retention_days"], Value::Null);
}

/// `GET /metrics`: Prometheus text with evaluations, latency, requests by route, errors by kind
/// and cache lookups; no tenant ids in labels.
fn metrics_count_evaluations_requests_errors_and_cache_hits(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    fx.login(&ada_claims());
    fx.login(&ada_claims());
    let (status, body) = server.get("/v1/tenants/acme/decisions/no-such-decision", fx.admin());
    assert_error(status, &body, 404, "not_found");
    let reply = server.call("GET", "/metrics", None, Body::None);
    assert_eq!(reply.status, 200);
    let content_type = reply.content_type.unwrap_or_default();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = reply.text;
    for expected in [
        r#"muster_evaluations_total{trigger="login",result="ok"} 2"#,
        r#"muster_evaluation_seconds_count{trigger="login"} 2"#,
        r#"muster_http_requests_total{method="POST",route="/v1/tenants/{tenant}/realms/{realm}/login",status="200"} 2"#,
        r#"muster_errors_total{kind="not_found"} 1"#,
        r#"muster_cache_lookups_total{cache="snapshot",result="hit"}"#,
        r#"muster_http_request_seconds_bucket{"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    assert!(!text.contains("acme"), "labels carry no tenant ids:\n{text}");

    // Labels come from closed sets: 50 made-up methods are one `other` series, 50 paths that
    // match no route one `unmatched` series (per metric), whatever the client sends.
    let host = server.url().trim_start_matches("http://").to_owned();
    let before = series(&server.call("GET", "/metrics", None, Body::None).text);
    for n in 0..50 {
        let reply = server.send_raw_with_headers(&format!("MADEUP{n}"), "/healthz", &[("Host", &host)], b"");
        assert_eq!(reply.status, 405, "{}", reply.text);
    }
    let after = series(&server.call("GET", "/metrics", None, Body::None).text);
    assert_at_most_one_new_series_per_metric(&before, &after);
    assert!(after.iter().any(|s| s.contains(r#"method="other",route="/healthz",status="405""#)), "{after:?}");
    let before = after;
    for n in 0..50 {
        let (status, body) = server.get(&format!("/v1/tenants/acme/nope-{n}"), fx.admin());
        assert_error(status, &body, 404, "not_found");
    }
    let after = series(&server.call("GET", "/metrics", None, Body::None).text);
    assert_at_most_one_new_series_per_metric(&before, &after);
    assert!(after.iter().any(|s| s.contains(r#"method="GET",route="unmatched",status="404""#)), "{after:?}");
    assert!(after.iter().all(|s| !s.contains("MADEUP") && !s.contains("nope-")), "{after:?}");
}

/// The series of a `/metrics` text: `name{labels}` of every sample, histogram buckets left out
/// (each series has one per bucket).
fn series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .filter(|series| !series.contains("_bucket{"))
        .collect()
}

#[track_caller]
fn assert_at_most_one_new_series_per_metric(before: &BTreeSet<String>, after: &BTreeSet<String>) {
    let mut new_per_metric = std::collections::BTreeMap::<&str, Vec<&str>>::new();
    for series in after.difference(before) {
        let metric = series.split('{').next().unwrap();
        new_per_metric.entry(metric).or_default().push(series);
    }
    for (metric, new) in new_per_metric {
        assert!(new.len() <= 1, "{metric} got {} new series: {new:?}", new.len());
    }
}

/// The UTC day (`2026-12-07`) of a time in milliseconds since the epoch, as `date -u` says it.
fn utc_day(millis: i64) -> String {
    let output = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{}", millis.div_euclid(1000)), "+%F"])
        .output()
        .expect("date runs");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The tenant's decisions matching `query`, once there are `count` (shadow decisions are
/// recorded in the background, just after the live answer).
fn wait_for_decisions(server: &Client, fx: &Fixture, query: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, list) = server.get(&format!("/v1/tenants/{}/decisions?{query}", fx.tenant.id), fx.admin());
        assert_eq!(status, 200, "{list}");
        let found = list["decisions"].as_array().unwrap().clone();
        if found.len() >= count || Instant::now() > deadline {
            assert_eq!(found.len(), count, "decisions?{query}: {list}");
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Scenario 8: The audit log: in sequence order, filtered by action (prefix), paginated.
fn audit_log_is_ordered_filtered_and_paginated(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (_, ada) = fx.login(&ada_claims());
    let events = audit_all(server, &fx.tenant, "");
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "strictly increasing: {seqs:?}");
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.first(), Some(&"tenant.created"), "{actions:?}");
    let position = |action: &str| {
        actions.iter().position(|a| *a == action).unwrap_or_else(|| panic!("no {action} in {actions:?}"))
    };
    assert!(
        position("tenant.created") < position("module.uploaded")
            && position("module.uploaded") < position("module.activated")
            && position("module.activated") < position("decision.applied"),
        "{actions:?}"
    );
    let applied = &events[position("decision.applied")];
    assert_eq!(applied["actor"], format!("key:{}", fx.tenant.eval_key_id), "{applied}");
    assert!(
        applied.to_string().contains(ada["decision_id"].as_str().unwrap())
            || applied.to_string().contains(ada["user_id"].as_str().unwrap()),
        "{applied}"
    );
    let activated = &events[position("module.activated")];
    assert_eq!(activated["actor"], format!("key:{}", fx.tenant.admin_key_id), "{activated}");
    for event in &events {
        assert_eq!(event["tenant_id"], "acme");
        assert!(event["at"].as_i64().unwrap() > 0);
    }

    // Filters: a prefix ending in a dot, or one action.
    let modules = audit_all(server, &fx.tenant, "action=module.");
    let module_actions: BTreeSet<&str> = modules.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(module_actions, BTreeSet::from(["module.activated", "module.uploaded"]), "{modules:?}");
    assert_eq!(modules.len(), 4, "two uploads, two activations: {modules:?}");
    let activations = audit_all(server, &fx.tenant, "action=module.activated");
    assert_eq!(activations.len(), 2);
    let expected: Vec<&Value> =
        events.iter().filter(|e| e["action"].as_str().unwrap().starts_with("module.")).collect();
    assert_eq!(modules.iter().collect::<Vec<_>>(), expected, "filtered, in the same order");
    let none = audit_all(server, &fx.tenant, "action=tenant.deleted");
    assert!(none.is_empty());

    // Pages of 3, continued with `after`, make up the whole log.
    let mut paged = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let query = match after {
            Some(seq) => format!("limit=3&after={seq}"),
            None => "limit=3".into(),
        };
        let (status, page) = server.get(&format!("/v1/tenants/acme/audit?{query}"), fx.admin());
        assert_eq!(status, 200, "{page}");
        let page_events = page["events"].as_array().unwrap();
        assert!(page_events.len() <= 3);
        paged.extend(page_events.iter().cloned());
        match page["next_after"].as_i64() {
            Some(next) => {
                assert_eq!(Some(next), page_events.last().and_then(|e| e["seq"].as_i64()));
                after = Some(next);
            }
            None => break,
        }
        assert!(paged.len() <= events.len(), "pagination does not end");
    }
    assert_eq!(paged, events);
    let (_, first) = server.get("/v1/tenants/acme/audit?limit=2", fx.admin());
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let (_, rest) = server.get(&format!("/v1/tenants/acme/audit?after={}", first["next_after"]), fx.admin());
    assert_eq!(rest["events"][0], events[2]);

    for bad in ["limit=0", "limit=100000", "limit=ten", "after=x", "colour=blue"] {
        let (status, body) = server.get(&format!("/v1/tenants/acme/audit?{bad}"), fx.admin());
        assert_error(status, &body, 400, "bad_request");
    }
}

/// Scenario 9: Tenant isolation on every route: another tenant's admin key gets 404, the tenant's own
/// evaluation key 403 on admin routes, no key or a revoked key 401. Nothing of tenant A is
/// shown or changed.
fn keys_of_one_tenant_get_nothing_of_another_on_every_route(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (_, ada) = fx.login(&ada_claims());
    let b = Tenant::create(server, "globex");
    let routes = tenant_routes(&fx, ada["user_id"].as_str().unwrap(), ada["decision_id"].as_str().unwrap());
    assert_routes_cover_the_router(&routes);
    let snapshot = || snapshot_of_tenant(server, &fx);
    let before = snapshot();

    for route in &routes {
        let reply = server.call(route.method, &route.path, Some(&b.admin), route.body());
        let message = assert_error(reply.status, &reply.json, 404, "not_found");
        assert!(
            !message.contains("ada") && !reply.text.contains("acme-sales"),
            "{} {}: {}",
            route.method,
            route.path,
            reply.text
        );
        // Tenant A's evaluation key may only log users in (checked at the end: a login changes
        // the tenant).
        if !route.pattern.ends_with("/login") && !route.pattern.ends_with("/sessions/introspect") {
            let reply = server.call(route.method, &route.path, Some(&fx.tenant.eval), route.body());
            assert_error(reply.status, &reply.json, 403, "forbidden");
        }
        // No key, a malformed key, a made-up key.
        for token in [None, Some("mk_"), Some("mk_0123456789abcdef_c2VjcmV0"), Some(OPERATOR_TOKEN)] {
            let reply = server.call(route.method, &route.path, token, route.body());
            assert_error(reply.status, &reply.json, 401, "unauthorized");
        }
        // A's admin key with the secret of B's.
        let forged = format!("mk_{}_{}", fx.tenant.admin_key_id, b.admin.rsplit('_').next().unwrap());
        let reply = server.call(route.method, &route.path, Some(&forged), route.body());
        assert_error(reply.status, &reply.json, 401, "unauthorized");
    }
    // The operator routes do not take tenant keys.
    for token in [&fx.tenant.admin, &fx.tenant.eval] {
        let (status, body) = server.get("/v1/tenants", Some(token));
        assert_error(status, &body, 401, "unauthorized");
        let (status, body) = server.post("/v1/tenants", Some(token), &json!({"id": "evil", "name": "Evil"}));
        assert_error(status, &body, 401, "unauthorized");
    }

    // Nothing of tenant A changed.
    assert_eq!(snapshot(), before);

    // A revoked key stops working at once, on every route.
    let (status, key) =
        server.post("/v1/tenants/acme/keys", fx.admin(), &json!({"kind": "admin", "label": "short-lived"}));
    assert_eq!(status, 201, "{key}");
    let revoked = key["token"].as_str().unwrap().to_owned();
    let (status, _) = server.get("/v1/tenants/acme", Some(&revoked));
    assert_eq!(status, 200);
    let reply = server.call(
        "DELETE",
        &format!("/v1/tenants/acme/keys/{}", key["key"]["id"].as_str().unwrap()),
        fx.admin(),
        Body::None,
    );
    assert_eq!(reply.status, 204, "{}", reply.text);
    for route in &routes {
        let reply = server.call(route.method, &route.path, Some(&revoked), route.body());
        assert_error(reply.status, &reply.json, 401, "unauthorized");
    }

    // Only the short-lived key changed, and B sees only B.
    let (_, keys) = server.get("/v1/tenants/acme/keys", fx.admin());
    for key in keys["keys"].as_array().unwrap() {
        let should_be_revoked = key["label"] == "short-lived";
        assert_eq!(key["revoked_at"].is_number(), should_be_revoked, "{key}");
    }
    let (status, _) = fx.login(&ada_claims());
    assert_eq!(status, 200, "A's evaluation key still works");
    let (_, b_decisions) = server.get("/v1/tenants/globex/decisions", Some(&b.admin));
    assert_eq!(b_decisions["decisions"], json!([]));
    let (_, b_audit) = server.get("/v1/tenants/globex/audit", Some(&b.admin));
    assert!(b_audit["events"].as_array().unwrap().iter().all(|e| e["tenant_id"] == "globex"), "{b_audit}");
    let (_, b_realms) = server.get("/v1/tenants/globex/realms", Some(&b.admin));
    assert_eq!(b_realms["realms"], json!([]));
}

/// Scenario 9b: No lock-out: the tenant's last admin key cannot be revoked (409, nothing
/// changed); evaluation keys can, and so can an admin key while another admin key is active.
fn the_last_admin_key_of_a_tenant_cannot_be_revoked(server: &TestServer) {
    let acme = Tenant::create(server, "acme");
    let revoke =
        |id: &str, token: &str| server.call("DELETE", &format!("/v1/tenants/acme/keys/{id}"), Some(token), Body::None);
    let audit_before = audit_all(server, &acme, "");

    // The first admin key is the only one: refused, and it keeps working.
    let reply = revoke(&acme.admin_key_id, &acme.admin);
    let message = assert_error(reply.status, &reply.json, 409, "conflict");
    assert!(message.contains(&acme.admin_key_id), "{message}");
    assert!(message.contains("last admin key") && message.contains("create another admin key first"), "{message}");
    let (status, _) = server.get("/v1/tenants/acme", Some(&acme.admin));
    assert_eq!(status, 200);
    assert_eq!(audit_all(server, &acme, ""), audit_before, "a refused revocation is not audited");

    // An evaluation key is not an admin key: revoking it works as before.
    let reply = revoke(&acme.eval_key_id, &acme.admin);
    assert_eq!(reply.status, 204, "{}", reply.text);

    // With a second admin key, the first can go; the second is then the last.
    let (status, second) =
        server.post("/v1/tenants/acme/keys", Some(&acme.admin), &json!({"kind": "admin", "label": "second"}));
    assert_eq!(status, 201, "{second}");
    let (second_id, second_token) =
        (second["key"]["id"].as_str().unwrap().to_owned(), second["token"].as_str().unwrap().to_owned());
    let reply = revoke(&acme.admin_key_id, &second_token);
    assert_eq!(reply.status, 204, "{}", reply.text);
    let reply = revoke(&second_id, &second_token);
    assert_error(reply.status, &reply.json, 409, "conflict");
    // Revoking the revoked first key again still succeeds (and changes nothing).
    let reply = revoke(&acme.admin_key_id, &second_token);
    assert_eq!(reply.status, 204, "{}", reply.text);

    let (status, keys) = server.get("/v1/tenants/acme/keys", Some(&second_token));
    assert_eq!(status, 200, "{keys}");
    let active: Vec<&Value> = keys["keys"].as_array().unwrap().iter().filter(|k| k["revoked_at"].is_null()).collect();
    assert_eq!(active.len(), 1, "{keys}");
    assert_eq!(active[0]["id"], second_id.as_str());
}

/// Scenario 10: Malformed, mistyped, untyped and oversized bodies, unknown ids and unknown routes: a
/// clear JSON 4xx, never a 500.
fn bad_input_gets_a_clear_json_4xx_on_every_route(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (_, ada) = fx.login(&ada_claims());
    let routes = tenant_routes(&fx, ada["user_id"].as_str().unwrap(), ada["decision_id"].as_str().unwrap());
    let mut with_body: Vec<Route> = routes.into_iter().filter(|r| r.valid_body.is_some()).collect();
    with_body.push(Route {
        method: "POST",
        pattern: "/v1/tenants",
        path: "/v1/tenants".into(),
        valid_body: Some(json!({"id": "globex", "name": "Globex"})),
        mistyped_body: json!({"id": 1, "name": true}),
        token: OPERATOR.map(str::to_owned),
    });
    assert_eq!(with_body.len(), 18, "every route that takes a body");

    for route in &with_body {
        let label = format!("{} {}", route.method, route.pattern);
        let token = route.token.as_deref().or(fx.admin());
        let token = if route.pattern.ends_with("/login") { fx.eval() } else { token };
        // Malformed JSON.
        for malformed in [&br#"{"unterminated"#[..], b"{,}", b"not json", b"[1, 2"] {
            let reply = server.call(route.method, &route.path, token, Body::Raw(malformed, Some("application/json")));
            assert_error(reply.status, &reply.json, 400, "bad_request");
        }
        // Well-formed, wrong types.
        let reply = server.call(route.method, &route.path, token, Body::Json(&route.mistyped_body));
        let message = assert_error(reply.status, &reply.json, 422, "unprocessable");
        assert!(!message.is_empty(), "{label}");
        // Not declared as JSON. (Sent raw: the server may answer before reading the body.)
        let valid = serde_json::to_vec(route.valid_body.as_ref().unwrap()).unwrap();
        for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
            let (status, body) = send_raw(server, route.method, &route.path, token, content_type, &valid);
            assert_error(status, &body, 415, "unsupported_media_type");
        }
        // Too large.
        let limit = if route.pattern.ends_with("/modules/{kind}") { MAX_UPLOAD } else { MAX_BODY };
        let (status, body) =
            send_raw(server, route.method, &route.path, token, Some("application/json"), &json_of_size(limit + 1024));
        let message = assert_error(status, &body, 413, "payload_too_large");
        assert!(!message.is_empty(), "{label}");
    }
    // The upload route takes more than 1 MiB (a real module can be larger).
    let big = json!({"wasm": "A".repeat(2 << 20), "settings": {}});
    let (status, body) = server.post(&format!("{}/modules/user", fx.realm_path()), fx.admin(), &big);
    assert!(assert_error(status, &body, 422, "unprocessable").contains("module refused"), "{body}");

    // Unknown ids.
    let admin = fx.admin();
    let realm = fx.realm_path();
    let unknown: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/v1/tenants/nope".into(), None),
        ("GET", "/v1/tenants/acme/realms/nope".into(), None),
        ("PATCH", "/v1/tenants/acme/realms/nope".into(), Some(json!({"default_organization": null}))),
        ("POST", "/v1/tenants/acme/realms/nope/dry-run".into(), Some(json!({"user": {"user_name": "x"}}))),
        ("GET", format!("{realm}/users/nope"), None),
        ("POST", format!("{realm}/users/nope/dry-run"), None),
        ("GET", format!("{realm}/modules/user/versions/99"), None),
        ("POST", format!("{realm}/modules/user/versions/99/activate"), None),
        ("GET", format!("{realm}/modules/robot/versions"), None),
        ("POST", "/v1/tenants/acme/realms/nope/modules/user/rollback".into(), None),
        ("GET", "/v1/tenants/acme/decisions/nope".into(), None),
        ("POST", "/v1/tenants/acme/decisions/nope/replay".into(), None),
        ("DELETE", "/v1/tenants/acme/keys/nope".into(), None),
    ];
    for (method, path, body) in &unknown {
        let body = body.as_ref().map_or(Body::None, Body::Json);
        let reply = server.call(method, path, admin, body);
        assert_error(reply.status, &reply.json, 404, "not_found");
    }
    let (status, body) = server.post("/v1/tenants/acme/realms/nope/login", fx.eval(), &ada_claims());
    assert_error(status, &body, 404, "not_found");
    // A rollback with nothing to roll back to is refused, not a 500.
    let reply = server.call("POST", &format!("{realm}/modules/group/rollback"), admin, Body::None);
    assert!((400..500).contains(&reply.status), "{}", reply.text);
    assert_error(reply.status, &reply.json, reply.status, reply.json["error"]["code"].as_str().unwrap_or("?"));

    // Unknown routes and methods.
    for path in ["/", "/nope", "/v1", "/v1/tenants/acme/nope", &format!("{realm}/people"), "/v2/tenants"] {
        let reply = server.call("GET", path, admin, Body::None);
        assert_error(reply.status, &reply.json, 404, "not_found");
        assert!(reply.content_type.as_deref().is_some_and(|t| t.starts_with("application/json")), "{path}: {reply:?}");
    }
    for (method, path) in [
        ("DELETE", "/v1/tenants/acme/realms".to_owned()),
        ("PUT", format!("{realm}/login")),
        ("POST", "/healthz".into()),
    ] {
        let reply = server.call(method, &path, admin, Body::None);
        assert_error(reply.status, &reply.json, 405, "method_not_allowed");
    }
    // Ids that are not even text; query strings that do not parse.
    for path in
        ["/v1/tenants/%FF".to_owned(), "/v1/tenants/acme/realms/%FF/users/x".into(), format!("{realm}/users/%C3%28")]
    {
        let reply = server.call("GET", &path, admin, Body::None);
        assert_error(reply.status, &reply.json, 400, "bad_request");
    }
    for query in ["since=yesterday", "limit=-1", "shadow=maybe", "realm=a&realm=b"] {
        let (status, body) = server.get(&format!("/v1/tenants/acme/decisions?{query}"), admin);
        assert_error(status, &body, 400, "bad_request");
    }

    // A header that is not a bearer token.
    for authorization in ["Basic YWRtaW46YWRtaW4=", "Bearer", "Token abc", ""] {
        let reply =
            server.call_with_headers("GET", "/v1/tenants/acme", &[("authorization", authorization)], Body::None);
        assert_error(reply.status, &reply.json, 401, "unauthorized");
    }

    // After all that the server still works.
    let (status, again) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{again}");
}

// ---------------------------------------------------------------------------------------------
// Several processes.

/// Scenario 11: Two hosts on one PostgreSQL database: an activation or rollback through one is what the
/// other evaluates within a second.
#[test]
fn postgres_two_hosts_share_activations_within_a_second() {
    let a = TestServer::start(Backend::Postgres, "host-a");
    let b = TestServer::start_with(a.options().another_host("host-b"));
    let fx = Fixture::new(&a, "acme");
    fx.upload("user", "user_rules", &user_rules_v2(), "v2");
    let on_b = |claims: &Value| {
        let (status, body) = b.post(&format!("{}/login", fx.realm_path()), fx.eval(), claims);
        assert_eq!(status, 200, "{body}");
        body
    };
    // B serves the tenant A created, with version 1 (and has it cached).
    assert_eq!(on_b(&ada_claims())["organization"], "acme-sales");
    let (status, _) = b.get(&format!("/v1/tenants/acme/realms/{REALM}"), fx.admin());
    assert_eq!(status, 200);

    let switch = |action: &str, expected: &str| {
        let (status, body) = a.post_empty(&format!("{}/modules/user/{action}", fx.realm_path()), fx.admin());
        assert_eq!(status, 200, "{body}");
        let since = Instant::now();
        loop {
            let decided = on_b(&ada_claims());
            if decided["organization"] == expected {
                eprintln!("host B evaluated the {action} after {:?}", since.elapsed());
                break;
            }
            assert!(
                since.elapsed() < Duration::from_secs(1),
                "host B still decides {} one second after the {action} on host A",
                decided["organization"]
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    switch("versions/2/activate", "acme-emea");
    switch("rollback", "acme-sales");
    // And the other way round.
    let (status, body) = b.post_empty(&format!("{}/modules/user/versions/2/activate", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{body}");
    let since = Instant::now();
    loop {
        let (_, decided) = a.post(&format!("{}/login", fx.realm_path()), fx.eval(), &ada_claims());
        if decided["organization"] == "acme-emea" {
            break;
        }
        assert!(since.elapsed() < Duration::from_secs(1), "host A still decides {}", decided["organization"]);
        std::thread::sleep(Duration::from_millis(20));
    }
    // Both hosts see every decision, whichever host made it.
    let (_, on_a) = a.get("/v1/tenants/acme/decisions?limit=1000", fx.admin());
    let (_, on_b_list) = b.get("/v1/tenants/acme/decisions?limit=1000", fx.admin());
    assert_eq!(on_a, on_b_list);
}

/// Scenario 12: SIGKILL in the middle of a burst of logins loses no decision whose response was sent,
/// and leaves a store that works.
#[test]
fn sqlite_sigkill_mid_burst_loses_no_answered_decision() {
    sigkill_mid_burst(Backend::Sqlite);
}

#[test]
fn postgres_sigkill_mid_burst_loses_no_answered_decision() {
    sigkill_mid_burst(Backend::Postgres);
}

fn sigkill_mid_burst(backend: Backend) {
    const THREADS: usize = 8;
    const KILL_AFTER: usize = 150;
    let mut server = TestServer::start(backend, "sigkill");
    let fx = Fixture::new(&server, "acme");
    let answered: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let client: Client = server.client();
            let (answered, stop) = (Arc::clone(&answered), Arc::clone(&stop));
            let (path, eval) = (format!("{}/login", fx.realm_path()), fx.tenant.eval.clone());
            std::thread::spawn(move || {
                let mut refused = Vec::new();
                let mut cut_off = false;
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let claims = json!({
                        "provider_user_id": format!("burst-{thread}-{i}"),
                        "user_name": format!("burst-{thread}-{i}@acme.com"),
                        "attributes": {"department": ["Sales"]},
                        "provider_groups": [format!("sales-{thread}"), "everyone"],
                    });
                    match client.try_call("POST", &path, Some(&eval), Body::Json(&claims)) {
                        Ok(reply) if reply.status == 200 => {
                            let decision = reply.json["decision_id"].as_str().expect("a decision id").to_owned();
                            let user = reply.json["user_id"].as_str().expect("a user id").to_owned();
                            assert_eq!(reply.json["organization"], "acme-sales");
                            answered.lock().unwrap().push((decision, user, format!("burst-{thread}-{i}")));
                        }
                        Ok(reply) => refused.push(format!("{}: {}", reply.status, reply.text)),
                        // The server is gone: the burst is over for this thread.
                        Err(_) => {
                            cut_off = true;
                            break;
                        }
                    }
                }
                (refused, cut_off)
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.lock().unwrap().len() < KILL_AFTER {
        assert!(Instant::now() < deadline, "only {} logins answered in 60 s", answered.lock().unwrap().len());
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill(); // SIGKILL, with requests in flight
    let killed_at = answered.lock().unwrap().len();
    stop.store(true, Ordering::Relaxed);
    let mut cut_off = 0;
    for worker in workers {
        let (refused, was_cut_off) = worker.join().expect("a burst thread panicked");
        assert!(refused.is_empty(), "logins refused during the burst: {refused:?}");
        cut_off += usize::from(was_cut_off);
    }
    assert!(cut_off > 0, "the kill landed after the burst, not in the middle of it");
    let answered = std::mem::take(&mut *answered.lock().unwrap());
    eprintln!(
        "{backend:?}: {} logins answered before SIGKILL ({killed_at} when the kill was sent); {cut_off} of {THREADS} threads cut off mid-request",
        answered.len()
    );

    let server = TestServer::start_with(server.options().clone());
    for (decision, user, provider_id) in &answered {
        let (status, record) = server.get(&format!("/v1/tenants/acme/decisions/{decision}"), fx.admin());
        assert_eq!(status, 200, "decision {decision} was answered before the kill but is lost: {record}");
        assert_eq!(record["user_id"], user.as_str());
        assert_eq!(record["applied"], true);
        let output = &record["output"];
        assert_eq!(output["user"]["organization"], "acme-sales");
        let (status, stored) = server.get(&format!("{}/users/{user}", fx.realm_path()), fx.admin());
        assert_eq!(status, 200, "user {user} of decision {decision} is lost: {stored}");
        assert_eq!(stored["external_id"], provider_id.as_str());
        assert_eq!(stored["organization"], "acme-sales");
    }
    // Nothing is corrupt: the lists read back whole, the audit log is still strictly ordered and
    // holds an applied-decision event for every answered login, and a new login works.
    let (status, list) = server.get("/v1/tenants/acme/decisions?limit=1000", fx.admin());
    assert_eq!(status, 200, "{list}");
    let listed: BTreeSet<&str> =
        list["decisions"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert!(answered.iter().all(|(d, _, _)| listed.contains(d.as_str())) || listed.len() == 1000);
    let applied = audit_all(&server, &fx.tenant, "action=decision.applied");
    assert!(
        applied.len() >= answered.len(),
        "{} applied-decision events for {} answered logins",
        applied.len(),
        answered.len()
    );
    let all = audit_all(&server, &fx.tenant, "");
    let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "audit sequence after the kill: {seqs:?}");
    let (status, after) = fx.on(&server).login(&ada_claims());
    assert_eq!(status, 200, "{after}");
    let (status, _) =
        server.get(&format!("/v1/tenants/acme/decisions/{}", after["decision_id"].as_str().unwrap()), fx.admin());
    assert_eq!(status, 200);
    let v2 = fx.on(&server).upload("user", "user_rules", &user_rules_v2(), "after the crash");
    assert_eq!(v2["version"], 2, "{v2}");
}

/// `--demo` seeds a tenant whose evaluation key answers the README's one `curl`. Its key files
/// are private: 0600, in the 0700 data directory it creates.
#[test]
fn demo_seeds_a_tenant_that_answers_a_login() {
    let modules_dir = std::path::Path::new(&support::module("user_rules")).parent().unwrap().to_owned();
    let mut options = ServerOptions::fresh(Backend::Sqlite, "demo");
    // A data directory that does not exist yet (with a missing parent too): the demo creates it.
    options.data_dir = options.data_dir.join("new").join("data");
    options.args = vec!["--demo".into(), "--modules-dir".into(), modules_dir.display().to_string()];
    let server = TestServer::start_with(options);
    assert_eq!(mode(server.data_dir()), 0o700, "the data directory the demo creates is private");
    for file in ["demo-admin-token", "demo-eval-token"] {
        assert_eq!(mode(&server.data_dir().join(file)), 0o600, "{file} is readable by its owner alone");
    }
    let token =
        std::fs::read_to_string(server.data_dir().join("demo-eval-token")).expect("the demo evaluation key is written");
    let claims = json!({
        "provider_user_id": "00000000-0000-0000-0000-000000000001",
        "user_name": "ada@acme.com",
        "email": "ada@acme.com",
        "attributes": {"department": ["Sales"], "title": ["Sales Manager"]},
        "provider_groups": ["sales-emea"],
    });
    let (status, login) = server.post("/v1/tenants/demo/realms/entra/login", Some(token.trim()), &claims);
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["organization"], "acme-sales", "{login}");
    assert_eq!(login["evaluation"]["user"]["rule"], "sales");
    assert_eq!(login["groups"], json!(["all-managers"]));
    assert_eq!(login["provider_groups"], json!([{"name": "sales-emea", "organizations": ["acme-sales"]}]));
    let admin =
        std::fs::read_to_string(server.data_dir().join("demo-admin-token")).expect("the demo admin key is written");
    let (status, versions) = server.get("/v1/tenants/demo/realms/entra/modules/user/versions", Some(admin.trim()));
    assert_eq!(status, 200, "{versions}");
    assert_eq!(versions["active"], 1);
    // A restart on the same data directory keeps the demo tenant and its keys (no second seeding).
    let options = server.options().clone();
    drop(server);
    let server = TestServer::start_with(options);
    let again = std::fs::read_to_string(server.data_dir().join("demo-eval-token")).unwrap();
    assert_eq!(again, token, "the demo keys are not replaced on restart");
    let (status, login) = server.post("/v1/tenants/demo/realms/entra/login", Some(token.trim()), &claims);
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["organization"], "acme-sales");
    let (_, versions) = server.get("/v1/tenants/demo/realms/entra/modules/user/versions", Some(admin.trim()));
    assert_eq!(versions["versions"].as_array().unwrap().len(), 1, "{versions}");

    // Key files an earlier version left world-readable are made private on the next start; a
    // data directory that exists is the operator's: left as it is, with a warning.
    let options = server.options().clone();
    drop(server);
    let set_mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    };
    set_mode(&options.data_dir, 0o755);
    set_mode(&options.data_dir.join("demo-admin-token"), 0o644);
    let server = TestServer::start_with(options);
    assert_eq!(mode(&server.data_dir().join("demo-admin-token")), 0o600);
    assert_eq!(mode(&server.data_dir().join("demo-eval-token")), 0o600);
    assert_eq!(mode(server.data_dir()), 0o755, "an existing data directory keeps its mode");
    assert!(server.log().contains("other users may enter it"), "{}", server.log());
    assert_eq!(std::fs::read_to_string(server.data_dir().join("demo-eval-token")).unwrap(), token);
}

/// The permission bits of a file or directory.
fn mode(path: &std::path::Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o777
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One tenant route, filled in with real ids of tenant A, and a body that is valid for it.
struct Route {
    method: &'static str,
    /// As written in `api/mod.rs`.
    pattern: &'static str,
    path: String,
    valid_body: Option<Value>,
    mistyped_body: Value,
    token: Option<String>,
}

impl Route {
    fn body(&self) -> Body<'_> {
        self.valid_body.as_ref().map_or(Body::None, Body::Json)
    }
}

/// Every tenant route of the API, with tenant A's ids.
fn tenant_routes(fx: &Fixture, user: &str, decision: &str) -> Vec<Route> {
    let wasm = STANDARD.encode(module_bytes("user_rules"));
    let table: Vec<(&'static str, &'static str, Option<Value>, Value)> = vec![
        ("GET", "/v1/tenants/{tenant}", None, json!(null)),
        ("POST", "/v1/tenants/{tenant}/keys", Some(json!({"kind": "admin", "label": "intruder"})), json!({"kind": 5})),
        ("GET", "/v1/tenants/{tenant}/keys", None, json!(null)),
        ("DELETE", "/v1/tenants/{tenant}/keys/{key}", None, json!(null)),
        ("GET", "/v1/tenants/{tenant}/organizations", None, json!(null)),
        (
            "PUT",
            "/v1/tenants/{tenant}/organizations/{organization}",
            Some(json!({"name": "Intruder"})),
            json!({"name": 5}),
        ),
        (
            "POST",
            "/v1/tenants/{tenant}/realms",
            Some(json!({"id": "intruder", "name": "Intruder"})),
            json!({"id": [], "name": "x"}),
        ),
        ("GET", "/v1/tenants/{tenant}/realms", None, json!(null)),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}", None, json!(null)),
        (
            "PATCH",
            "/v1/tenants/{tenant}/realms/{realm}",
            Some(json!({"default_organization": "acme"})),
            json!({"default_organization": 5}),
        ),
        (
            "POST",
            "/v1/tenants/{tenant}/realms/{realm}/login",
            Some(ada_claims()),
            json!({"provider_user_id": 5, "user_name": "x"}),
        ),
        (
            "POST",
            "/v1/tenants/{tenant}/realms/{realm}/dry-run",
            Some(json!({"user": {"user_name": "carol@acme.com"}})),
            json!({"user": "carol"}),
        ),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}/users", None, json!(null)),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}/users/{user}", None, json!(null)),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}/users/{user}/sessions", None, json!(null)),
        (
            "POST",
            "/v1/tenants/{tenant}/realms/{realm}/users/{user}/dry-run",
            Some(json!({"user_rules_version": 1})),
            json!({"user_rules_version": "two"}),
        ),
        (
            "POST",
            "/v1/tenants/{tenant}/realms/{realm}/modules/{kind}",
            Some(json!({"wasm": wasm, "settings": user_rules_v2()})),
            json!({"wasm": 5}),
        ),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions", None, json!(null)),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions/{version}", None, json!(null)),
        ("POST", "/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions/{version}/activate", None, json!(null)),
        (
            "POST",
            "/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions/{version}/impact",
            Some(json!({"limit": 10})),
            json!({"limit": "ten"}),
        ),
        ("POST", "/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/rollback", None, json!(null)),
        ("GET", "/v1/tenants/{tenant}/decisions", None, json!(null)),
        ("GET", "/v1/tenants/{tenant}/decisions/{decision}", None, json!(null)),
        (
            "POST",
            "/v1/tenants/{tenant}/decisions/{decision}/replay",
            Some(json!({"user_rules_version": 1})),
            json!({"user_rules_version": "two"}),
        ),
        ("GET", "/v1/tenants/{tenant}/audit", None, json!(null)),
        (
            "PUT",
            "/v1/tenants/{tenant}/retention",
            Some(json!({"decision_retention_days": 30})),
            json!({"decision_retention_days": "long"}),
        ),
        ("POST", "/v1/tenants/{tenant}/decisions/purge", None, json!(null)),
        (
            "POST",
            "/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/versions/{version}/backtest",
            Some(json!({"limit": 10})),
            json!({"limit": "ten"}),
        ),
        (
            "PUT",
            "/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/shadow",
            Some(json!({"version": 1})),
            json!({"version": "one"}),
        ),
        ("DELETE", "/v1/tenants/{tenant}/realms/{realm}/modules/{kind}/shadow", None, json!(null)),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}/shadow", None, json!(null)),
        ("DELETE", "/v1/tenants/{tenant}/realms/{realm}/users/{user}", None, json!(null)),
        (
            "POST",
            "/v1/tenants/{tenant}/realms/{realm}/users/{user}/deactivate",
            Some(json!({"reason": "intruder"})),
            json!({"reason": 5}),
        ),
        ("POST", "/v1/tenants/{tenant}/realms/{realm}/users/{user}/reactivate", None, json!(null)),
        ("POST", "/v1/tenants/{tenant}/realms/{realm}/deprovision", None, json!(null)),
        (
            "POST",
            "/v1/tenants/{tenant}/realms/{realm}/sessions/introspect",
            Some(json!({"session": "mss_guess"})),
            json!({"session": 5}),
        ),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}/reports/organizations", None, json!(null)),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}/reports/groups", None, json!(null)),
        (
            "POST",
            "/v1/tenants/{tenant}/realms/{realm}/scim/credentials",
            Some(json!({"label": "intruder"})),
            json!({"label": 5}),
        ),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}/scim/credentials", None, json!(null)),
        ("GET", "/v1/tenants/{tenant}/realms/{realm}/scim/status", None, json!(null)),
        ("DELETE", "/v1/tenants/{tenant}/realms/{realm}/scim/credentials/{credential}", None, json!(null)),
        ("POST", "/v1/tenants/{tenant}/realms/{realm}/scim/credentials/{credential}/rotate", None, json!(null)),
        (
            "PUT",
            "/v1/tenants/{tenant}/realms/{realm}/scim/bearer",
            Some(json!({"enabled": true})),
            json!({"enabled": "yes"}),
        ),
    ];
    table
        .into_iter()
        .map(|(method, pattern, valid_body, mistyped_body)| Route {
            method,
            pattern,
            path: pattern
                .replace("{tenant}", &fx.tenant.id)
                .replace("{realm}", REALM)
                .replace("{key}", &fx.tenant.eval_key_id)
                .replace("{organization}", "intruder")
                .replace("{user}", user)
                .replace("{kind}", "user")
                .replace("{version}", "1")
                .replace("{decision}", decision)
                .replace("{credential}", "sc_unknown"),
            valid_body,
            mistyped_body,
            token: None,
        })
        .collect()
}

/// Fails when `api/mod.rs` has a tenant route (or method) the table above does not test.
fn assert_routes_cover_the_router(routes: &[Route]) {
    let tested: BTreeSet<(String, String)> =
        routes.iter().map(|r| (r.method.to_owned(), r.pattern.to_owned())).collect();
    let served: BTreeSet<(String, String)> = routes::routes_of("src/api/mod.rs")
        .into_iter()
        .filter(|(_, path)| path.starts_with("/v1/tenants/{tenant}"))
        .collect();
    let untested: Vec<_> = served.difference(&tested).collect();
    assert!(untested.is_empty(), "routes of host/src/api/mod.rs that the isolation test does not cover: {untested:?}");
    let stale: Vec<_> = tested.difference(&served).collect();
    assert!(stale.is_empty(), "routes the isolation test covers that the router no longer serves: {stale:?}");
}

/// What a tenant looks like through its admin API (to show that nothing changed).
#[derive(Debug, PartialEq)]
struct TenantSnapshot(Vec<(String, Value)>);

fn snapshot_of_tenant(server: &Client, fx: &Fixture) -> TenantSnapshot {
    let realm = fx.realm_path();
    let paths = [
        "/v1/tenants/acme".to_owned(),
        "/v1/tenants/acme/keys".into(),
        "/v1/tenants/acme/organizations".into(),
        "/v1/tenants/acme/realms".into(),
        format!("{realm}/modules/user/versions"),
        format!("{realm}/modules/group/versions"),
        "/v1/tenants/acme/decisions?limit=1000".into(),
        "/v1/tenants/acme/audit?limit=1000".into(),
    ];
    TenantSnapshot(
        paths
            .into_iter()
            .map(|path| {
                let (status, body) = server.get(&path, fx.admin());
                assert_eq!(status, 200, "{path}: {body}");
                (path, body)
            })
            .collect(),
    )
}

/// A JSON document of exactly `size` bytes.
fn json_of_size(size: usize) -> Vec<u8> {
    let mut body = br#"{"padding": ""#.to_vec();
    body.resize(size - 2, b'a');
    body.extend_from_slice(b"\"}");
    body
}

/// Sends a request over a raw connection and reads the answer as JSON, tolerating the server
/// closing the connection before it has read the whole body (which it may: it answers 413 as
/// soon as the limit is passed, 415 without reading the body at all).
fn send_raw(
    server: &Client,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let auth = token.map(|token| format!("Bearer {token}"));
    let reply = server.send_raw(method, path, auth.as_deref(), content_type, body);
    let (status, text) = (reply.status, &reply.text);
    assert!(
        reply.head.to_ascii_lowercase().contains("content-type: application/json"),
        "{method} {path}: not JSON: {text}"
    );
    let json = serde_json::from_str(&reply.body)
        .unwrap_or_else(|_| panic!("{method} {path}: answered {status} with a body that is not JSON: {text:?}"));
    (status, json)
}

/// A realm's own limits bound each evaluation of its rules, within the operator's: the same
/// module and the same user run out of fuel, or of memory, under a realm's low limits while the
/// realm without limits decides; each decision record says the bounds it ran under; a limit past
/// the operator's maximum (or zero) is refused.
fn a_realms_own_limits_bound_its_evaluations_within_the_operators(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let realms = format!("/v1/tenants/{}/realms", fx.tenant.id);
    let (status, okta) = fx.server.post(&realms, fx.admin(), &json!({"id": "okta", "name": "Okta"}));
    assert_eq!(status, 201, "{okta}");
    assert_eq!(okta["limits"], json!({"fuel": null, "timeout_ms": null, "max_memory_bytes": null}), "the operator's");
    let okta_path = format!("{realms}/okta");
    let body = json!({"wasm": STANDARD.encode(module_bytes("user_rules")), "settings": user_rules_v1(), "note": "v1"});
    let (status, version) = fx.server.post(&format!("{okta_path}/modules/user"), fx.admin(), &body);
    assert_eq!(status, 201, "{version}");
    let (status, body) = fx.server.post_empty(&format!("{okta_path}/modules/user/versions/1/activate"), fx.admin());
    assert_eq!(status, 200, "{body}");
    let login = |path: &str| fx.server.post(&format!("{path}/login"), fx.eval(), &ada_claims());
    let record = |id: &str| {
        let (status, record) = fx.server.get(&format!("/v1/tenants/{}/decisions/{id}", fx.tenant.id), fx.admin());
        assert_eq!(status, 200, "{record}");
        record
    };
    let (status, decided) = login(&okta_path);
    assert_eq!((status, &decided["organization"]), (200, &json!("acme-sales")), "{decided}");
    let operators = record(decided["decision_id"].as_str().unwrap())["limits"].clone();
    assert!(operators["fuel"].as_u64().unwrap() > 1_000_000, "the operator's bounds are recorded: {operators}");

    for (limits, kind) in
        [(json!({"fuel": 1000}), "fuel_exhausted"), (json!({"max_memory_bytes": 65536}), "resource_limit")]
    {
        let (status, realm) = fx.server.patch(&okta_path, fx.admin(), &json!({"limits": limits}));
        assert_eq!(status, 200, "{realm}");
        let mut shown = json!({"fuel": null, "timeout_ms": null, "max_memory_bytes": null});
        shown.as_object_mut().unwrap().extend(limits.as_object().unwrap().clone());
        assert_eq!(realm["limits"], shown, "{realm}");
        let updated = audit_actions(&fx.server, &fx.tenant, "realm.updated");
        assert_eq!(updated.last().unwrap()["details"]["limits"], shown);

        let (status, failed) = login(&okta_path);
        assert_error(status, &failed, 422, "rules_failed");
        let failed = record(failed["error"]["decision_id"].as_str().unwrap());
        assert_eq!(failed["failure"]["kind"], kind, "{failed}");
        let mut applied = operators.clone();
        applied.as_object_mut().unwrap().extend(limits.as_object().unwrap().clone());
        assert_eq!(failed["limits"], applied, "the record says the bounds it ran under");

        let (status, decided) = login(&fx.realm_path());
        assert_eq!((status, &decided["organization"]), (200, &json!("acme-sales")), "the other realm: {decided}");
        assert_eq!(record(decided["decision_id"].as_str().unwrap())["limits"], operators);
    }

    // Within the operator's maxima, at least 1, an object: anything else is refused and stores nothing.
    let maxima = &operators;
    for bad in [
        json!({"limits": {"fuel": maxima["fuel"].as_u64().unwrap() + 1}}),
        json!({"limits": {"timeout_ms": maxima["timeout_ms"].as_u64().unwrap() + 1}}),
        json!({"limits": {"max_memory_bytes": maxima["max_memory_bytes"].as_u64().unwrap() + 1}}),
        json!({"limits": {"fuel": 0}}),
        json!({"limits": {"fuel": -1}}),
        json!({"limits": {"gas": 5}}),
        json!({"limits": null}),
    ] {
        let (status, body) = fx.server.patch(&okta_path, fx.admin(), &bad);
        assert_error(status, &body, 422, "unprocessable");
    }
    let over = json!({"id": "saml", "name": "SAML", "limits": {"fuel": maxima["fuel"].as_u64().unwrap() + 1}});
    let (status, body) = fx.server.post(&realms, fx.admin(), &over);
    assert_error(status, &body, 422, "unprocessable");
    let (status, realm) = fx.server.patch(&okta_path, fx.admin(), &json!({"limits": {}}));
    assert_eq!((status, &realm["limits"]), (200, &json!({"fuel": null, "timeout_ms": null, "max_memory_bytes": null})));
    let (status, decided) = login(&okta_path);
    assert_eq!((status, &decided["organization"]), (200, &json!("acme-sales")), "the operator's again: {decided}");
}
