//! SCIM 2.0 end to end: the real `muster serve` binary over HTTP, on SQLite and PostgreSQL.
//!
//! * credentials: OAuth2 client credentials, static bearer tokens only where enabled, rotation,
//!   revocation, and SCIM error bodies for every refusal;
//! * an Entra ID provisioning sequence as Entra sends it (test connection, initial sync of users
//!   and groups, membership patches, disable, re-enable, delete), checking after each step that
//!   the rules ran and were applied, that deprovisioning took the user out of everything and
//!   revoked its sessions, and that the audit log shows each step;
//! * protocol errors with the right status and `scimType`;
//! * bulk deprovisioning from a CSV file;
//! * the realm's SCIM status: its URLs, clients, request and error counts, last request and error.
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
use serde_json::{Value, json};
use server::{Backend, Body, Client, Reply, TestServer};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

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
    credentials_issue_tokens_and_every_refusal_is_a_scim_401,
    entra_provisioning_sequence_runs_the_rules_and_deprovisions_for_real,
    protocol_errors_have_the_right_status_and_scim_type,
    bulk_deprovisioning_reports_each_row,
    put_updates_and_admin_deprovisioning_decide_and_audit,
    base_url_forms_reach_the_resources,
    scim_events_whose_rules_trap_follow_the_realms_failure_policy,
    scim_status_counts_requests_and_keeps_the_last_error,
    provider_groups_follow_the_realms_membership_source,
);

/// The independent conformance tester `scim2-tester` (PyPI) against a realm of the running
/// server: every check must pass, but for the deviations `run_scim2_tester.py` accepts and
/// explains. `scripts/test` prepares its Python (`scripts/scim2-tester-env`).
#[test]
fn scim2_tester_finds_no_conformance_error() {
    let python = std::env::var("MUSTER_SCIM2_TESTER_PYTHON")
        .expect("MUSTER_SCIM2_TESTER_PYTHON must name the python of scripts/scim2-tester-env (scripts/test sets it)");
    let server = TestServer::start(Backend::Sqlite, "scim2_tester");
    let fx = Fixture::new(&server, "acme");
    let (scim, _) = Scim::connect(&fx);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/run_scim2_tester.py");
    let output = std::process::Command::new(&python)
        .arg(script)
        .arg(format!("{}{}", server.url(), scim.base))
        .arg(&scim.token)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "scim2-tester found conformance errors:\n{report}\n--- server log ---\n{}",
        server.log()
    );
    assert!(report.contains(" checks, 0 failed"), "{report}");
}

fn run(backend: Backend, label: &str, scenario: fn(&TestServer)) {
    let server = TestServer::start(backend, label);
    scenario(&server);
}

/// A SCIM client of the fixture's realm, with an access token from the token endpoint.
struct Scim {
    server: Client,
    base: String,
    token: String,
}

impl Scim {
    fn connect(fx: &Fixture) -> (Scim, Value) {
        let (status, credential) =
            fx.server.post(&format!("{}/scim/credentials", fx.realm_path()), fx.admin(), &json!({"label": "Entra ID"}));
        assert_eq!(status, 201, "{credential}");
        let token = token(&fx.server, &fx.tenant.id, &credential).expect("a token");
        (Scim { server: fx.server.clone(), base: format!("/scim/{}/{REALM}/v2", fx.tenant.id), token }, credential)
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
        let auth = format!("Bearer {}", self.token);
        let headers = [("authorization", auth.as_str())];
        let body = match &bytes {
            Some(bytes) => Body::Raw(bytes, Some("application/scim+json")),
            None => Body::None,
        };
        let reply = self.server.call_with_headers(method, &format!("{}{path}", self.base), &headers, body);
        if !reply.text.is_empty() {
            let content_type = reply.content_type.clone().unwrap_or_default();
            assert!(content_type.starts_with("application/scim+json"), "{method} {path}: {content_type}");
        }
        reply
    }

    fn patch(&self, path: &str, operations: Value) -> Reply {
        self.call("PATCH", path, Some(&json!({"schemas": [PATCH_OP], "Operations": operations})))
    }
}

/// An access token for `credential` by the client-credentials grant (HTTP Basic).
fn token(server: &Client, tenant: &str, credential: &Value) -> Result<String, Reply> {
    let basic = STANDARD.encode(format!(
        "{}:{}",
        credential["client_id"].as_str().unwrap(),
        credential["client_secret"].as_str().unwrap()
    ));
    let auth = format!("Basic {basic}");
    let reply = server.call_with_headers(
        "POST",
        &format!("/scim/{tenant}/{REALM}/oauth/token"),
        &[("authorization", auth.as_str())],
        Body::Raw(b"grant_type=client_credentials", Some("application/x-www-form-urlencoded")),
    );
    if reply.status != 200 {
        return Err(reply);
    }
    assert_eq!(reply.json["token_type"], "Bearer");
    assert_eq!(reply.json["expires_in"], 3600);
    Ok(reply.json["access_token"].as_str().unwrap().to_owned())
}

#[track_caller]
fn assert_scim_error(reply: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.json["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{}", reply.text);
    assert_eq!(reply.json["status"], json!(status.to_string()), "{}", reply.text);
    match scim_type {
        Some(expected) => assert_eq!(reply.json["scimType"], expected, "{}", reply.text),
        None => assert!(reply.json.get("scimType").is_none(), "{}", reply.text),
    }
    assert!(reply.json["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", reply.text);
}

fn user_body(user_name: &str, external_id: &str, department: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": user_name,
        "externalId": external_id,
        "active": true,
        "displayName": "Ada Lovelace",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "title": "Sales Manager",
        ENTERPRISE: {"department": department},
    })
}

fn credentials_issue_tokens_and_every_refusal_is_a_scim_401(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (scim, credential) = Scim::connect(&fx);
    assert!(credential["scim_url"].as_str().unwrap().ends_with("/scim/acme/entra/v2/"), "{credential}");
    let config = scim.call("GET", "/ServiceProviderConfig?aadOptscim062020", None);
    assert_eq!(config.status, 200, "{}", config.text);
    assert_eq!(config.json["patch"]["supported"], true);

    // No token, a wrong one, a token of another realm.
    let anonymous = server.call("GET", "/scim/acme/entra/v2/Users", None, Body::None);
    assert_scim_error(&anonymous, 401, None);
    let wrong = Scim { token: "not-a-token".into(), ..Scim::connect(&fx).0 };
    assert_scim_error(&wrong.call("GET", "/Users", None), 401, None);
    let globex = Fixture::new(server, "globex");
    let (other, _) = Scim::connect(&globex);
    let cross = server.call_with_headers(
        "GET",
        "/scim/acme/entra/v2/Users",
        &[("authorization", &format!("Bearer {}", other.token))],
        Body::None,
    );
    assert_scim_error(&cross, 401, None);

    // The token endpoint: a wrong secret, a wrong grant.
    let wrong_secret = json!({"client_id": credential["client_id"], "client_secret": "nope"});
    let refused = token(server, "acme", &wrong_secret).unwrap_err();
    assert_eq!((refused.status, refused.json["error"].as_str()), (401, Some("invalid_client")), "{}", refused.text);
    let form = format!("grant_type=password&client_id={}&client_secret=x", credential["client_id"].as_str().unwrap());
    let reply = server.call(
        "POST",
        "/scim/acme/entra/oauth/token",
        None,
        Body::Raw(form.as_bytes(), Some("application/x-www-form-urlencoded")),
    );
    assert_eq!((reply.status, reply.json["error"].as_str()), (400, Some("unsupported_grant_type")), "{}", reply.text);
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        credential["client_id"].as_str().unwrap(),
        credential["client_secret"].as_str().unwrap()
    );
    let reply = server.call(
        "POST",
        "/scim/acme/entra/oauth/token",
        None,
        Body::Raw(form.as_bytes(), Some("application/x-www-form-urlencoded")),
    );
    assert_eq!(reply.status, 200, "client_id and client_secret as form fields: {}", reply.text);

    // Static bearer tokens: refused until enabled for the realm.
    let bearer = format!(
        "Bearer {}.{}",
        credential["client_id"].as_str().unwrap(),
        credential["client_secret"].as_str().unwrap()
    );
    let with_bearer = || {
        server.call_with_headers("GET", "/scim/acme/entra/v2/Users", &[("authorization", bearer.as_str())], Body::None)
    };
    assert_scim_error(&with_bearer(), 401, None);
    let (status, realm) =
        server.put(&format!("{}/scim/bearer", fx.realm_path()), fx.admin(), &json!({"enabled": true}));
    assert_eq!((status, &realm["scim_bearer_enabled"]), (200, &json!(true)), "{realm}");
    assert_eq!(with_bearer().status, 200);

    // Rotation: the old secret stops working at once; revocation kills the tokens too.
    let id = credential["client_id"].as_str().unwrap();
    let (status, rotated) = server.post_empty(&format!("{}/scim/credentials/{id}/rotate", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{rotated}");
    assert_ne!(rotated["client_secret"], credential["client_secret"]);
    assert_eq!(token(server, "acme", &credential).unwrap_err().status, 401);
    assert_scim_error(&with_bearer(), 401, None);
    let fresh = token(server, "acme", &rotated).expect("the new secret works");
    let (status, listed) = server.get(&format!("{}/scim/credentials", fx.realm_path()), fx.admin());
    assert_eq!(status, 200);
    assert!(!listed.to_string().contains(rotated["client_secret"].as_str().unwrap()), "secrets are never listed");
    let (status, _) = server.delete(&format!("{}/scim/credentials/{id}", fx.realm_path()), fx.admin());
    assert_eq!(status, 200);
    let revoked = Scim { token: fresh, ..Scim::connect(&fx).0 };
    assert_scim_error(&revoked.call("GET", "/Users", None), 401, None);
    assert!(!audit_actions(&fx.server, &fx.tenant, "scim.credential.revoked").is_empty());
}

fn entra_provisioning_sequence_runs_the_rules_and_deprovisions_for_real(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (scim, _) = Scim::connect(&fx);

    // Entra's test connection: a filter on a random user name finds nobody.
    let probe = scim.call("GET", "/Users?filter=userName+eq+%226b1c3f0e-7b1a-4d7e-9a0b-random%22", None);
    assert_eq!(probe.status, 200, "{}", probe.text);
    assert_eq!(
        (probe.json["totalResults"].as_i64(), probe.json["Resources"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );

    // Initial sync: users, then groups with members. The user rules need a `sales-` provider
    // group: Ada is blocked until the group arrives, then re-decided at once.
    let created = scim.call("POST", "/Users", Some(&user_body("Ada@Acme.com", "entra-ada", "Sales")));
    assert_eq!(created.status, 201, "{}", created.text);
    let ada = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(created.json["meta"]["version"], "W/\"1\"");
    assert_eq!(created.json["active"], true);
    let stored = admin_user(&fx, &ada);
    assert_eq!(stored["organization"], Value::Null, "no sales- group yet: {stored}");
    let found = scim.call("GET", "/Users?filter=userName%20eq%20%22ada%40acme.com%22", None);
    assert_eq!(found.json["totalResults"], 1, "userName matches ignoring case: {}", found.text);
    let by_external_id = scim.call("GET", "/Users?filter=externalId%20eq%20%22entra-ada%22&attributes=userName", None);
    assert_eq!(
        by_external_id.json["Resources"][0],
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE], "id": ada, "userName": "Ada@Acme.com"}),
        "{}",
        by_external_id.text
    );

    let group = scim.call(
        "POST",
        "/Groups",
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "sales-emea", "externalId": "grp-sales", "members": [{"value": ada}],
        })),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let sales = group.json["id"].as_str().unwrap().to_owned();
    let stored = admin_user(&fx, &ada);
    assert_eq!(stored["organization"], "acme-sales", "the group change re-decided Ada: {stored}");
    assert_eq!(stored["rule_groups"], json!(["all-managers"]));
    let triggers = decision_triggers(&fx, &ada);
    assert_eq!(triggers, ["scim_group_change", "scim_create"], "a decision per event, newest first");
    let with_groups = scim.call("GET", &format!("/Users/{ada}"), None);
    assert_eq!(with_groups.json["groups"][0]["value"], sales.as_str(), "{}", with_groups.text);
    let membership = scim.call(
        "GET",
        &format!(
            "/Groups?filter=id%20eq%20%22{sales}%22%20and%20members.value%20eq%20%22{ada}%22&excludedAttributes=members"
        ),
        None,
    );
    assert_eq!(membership.json["totalResults"], 1, "Entra's membership check: {}", membership.text);
    assert!(membership.json["Resources"][0].get("members").is_none());

    // Entra's update: capitalised ops, a path-less replace with URN and dotted keys.
    let updated = scim.patch(
        &format!("/Users/{ada}"),
        json!([
            {"op": "Replace", "path": "title", "value": "Regional Director"},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ada.lovelace@acme.com"},
            {"op": "Replace", "value": {"name.familyName": "King", format!("{ENTERPRISE}:department"): "Engineering"}},
        ]),
    );
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json["title"], "Regional Director");
    assert_eq!(updated.json["name"]["familyName"], "King");
    assert_eq!(updated.json[ENTERPRISE]["department"], "Engineering");
    assert_eq!(updated.json["emails"][0]["value"], "ada.lovelace@acme.com");
    let stored = admin_user(&fx, &ada);
    assert_eq!(stored["organization"], "acme-engineering", "the update re-decided Ada: {stored}");
    assert_eq!(decision_triggers(&fx, &ada)[0], "scim_update");
    let unchanged =
        scim.patch(&format!("/Users/{ada}"), json!([{"op": "replace", "path": "title", "value": "Regional Director"}]));
    assert_eq!(unchanged.json["meta"]["version"], updated.json["meta"]["version"], "a no-op patch writes nothing");

    // Ada logs in: a session the login service can introspect.
    let (status, login) = fx.login(&json!({
        "provider_user_id": "entra-ada", "user_name": "ada@acme.com", "provider_groups": ["sales-emea"],
        "attributes": {"department": ["Engineering"]},
    }));
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["user_id"], ada.as_str(), "the login found the provisioned user (userName ignoring case)");
    let session = login["session"].as_str().unwrap().to_owned();
    assert_eq!(introspect(&fx, &session)["active"], true);

    // Disable (Entra: Replace active "False"): blocked, in no group, sessions revoked, audited.
    let disabled = scim.patch(&format!("/Users/{ada}"), json!([{"op": "Replace", "path": "active", "value": "False"}]));
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(disabled.json["active"], false);
    assert!(disabled.json.get("groups").is_none(), "memberships suspended: {}", disabled.text);
    let got = scim.call("GET", &format!("/Users/{ada}"), None);
    assert_eq!((got.status, &got.json["active"]), (200, &json!(false)), "a deactivated user still GETs");
    let stored = admin_user(&fx, &ada);
    assert_eq!(
        (stored["status"].as_str(), &stored["organization"], &stored["rule_groups"]),
        (Some("deactivated"), &Value::Null, &json!([])),
        "{stored}"
    );
    let introspection = introspect(&fx, &session);
    assert_eq!(introspection["active"], false, "{introspection}");
    assert!(introspection["reason"].as_str().unwrap().starts_with("revoked"), "{introspection}");
    let (_, blocked) = fx.login(&json!({"provider_user_id": "entra-ada", "user_name": "ada@acme.com"}));
    assert_eq!((blocked["blocked"].as_bool(), blocked.get("session")), (Some(true), None), "{blocked}");
    let members = scim.call("GET", &format!("/Groups/{sales}"), None);
    assert_eq!(members.json["members"], json!([]), "{}", members.text);
    let (_, report) = fx.server.get(&format!("{}/reports/groups", fx.realm_path()), fx.admin());
    assert!(!report.to_string().contains(&ada), "reports leave Ada out: {report}");
    let csv = fx
        .server
        .call("GET", &format!("{}/reports/organizations?format=csv", fx.realm_path()), fx.admin(), Body::None)
        .text;
    assert!(csv.starts_with("organization,user_id,user_name,display_name") && !csv.contains(&ada), "{csv}");
    for action in ["user.deactivated", "user.groups_suspended", "user.sessions_revoked"] {
        let events = audit_actions(&fx.server, &fx.tenant, action);
        assert!(events.iter().any(|e| e["target"] == ada.as_str()), "{action} audited: {events:?}");
    }
    let requests = audit_actions(&fx.server, &fx.tenant, "scim.request");
    assert!(requests.iter().any(|e| e["details"]["changed"] == serde_json::json!(["active"])), "{requests:?}");

    // Re-enable: memberships restored exactly, rules re-run.
    let enabled = scim.patch(&format!("/Users/{ada}"), json!([{"op": "Replace", "path": "active", "value": "True"}]));
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    assert_eq!(enabled.json["groups"][0]["value"], sales.as_str(), "{}", enabled.text);
    let stored = admin_user(&fx, &ada);
    assert_eq!(
        (stored["status"].as_str(), stored["organization"].as_str()),
        (Some("active"), Some("acme-engineering")),
        "{stored}"
    );
    assert_eq!(decision_triggers(&fx, &ada)[0], "scim_reactivate");

    // Membership removal the way Entra sends it.
    let removed = scim
        .patch(&format!("/Groups/{sales}"), json!([{"op": "Remove", "path": format!("members[value eq \"{ada}\"]")}]));
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.json["members"], json!([]));
    assert_eq!(admin_user(&fx, &ada)["provider_groups"], json!([]));

    // Delete: gone for good, audited; the decision records stay.
    let deleted = scim.call("DELETE", &format!("/Users/{ada}"), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_scim_error(&scim.call("GET", &format!("/Users/{ada}"), None), 404, None);
    assert_eq!(audit_actions(&fx.server, &fx.tenant, "user.deleted").len(), 1);
    let (_, decisions) = fx.server.get(&format!("/v1/tenants/acme/decisions?user={ada}"), fx.admin());
    assert!(decisions["decisions"].as_array().unwrap().len() >= 4, "{decisions}");
}

/// `GET …/scim/status` gives the Tenant URL and counts exactly the authenticated SCIM requests
/// the audit log records, keeping the latest request and the latest error with its detail.
fn scim_status_counts_requests_and_keeps_the_last_error(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let status_path = format!("{}/scim/status", fx.realm_path());
    let status = || {
        let (code, status) = server.get(&status_path, fx.admin());
        assert_eq!(code, 200, "{status}");
        status
    };
    let before = status();
    assert_eq!(
        (&before["requests"], &before["errors"], &before["last_request"], &before["last_error"]),
        (&json!(0), &json!(0), &Value::Null, &Value::Null),
        "{before}"
    );
    assert_eq!(before["active_credentials"], 0);
    assert_eq!(before["bearer_enabled"], false);
    assert_eq!(before["scim_url"], format!("{}/scim/acme/{REALM}/v2/", server.url()));
    assert_eq!(before["token_url"], format!("{}/scim/acme/{REALM}/oauth/token", server.url()));

    let (scim, credential) = Scim::connect(&fx);
    assert_eq!(credential["scim_url"], before["scim_url"], "the same Tenant URL as at creation");
    assert_eq!(scim.call("GET", "/Users", None).status, 200);
    assert_scim_error(&scim.call("GET", "/Users/nobody", None), 404, None);
    assert_scim_error(
        &scim.call("POST", "/Users", Some(&json!({"schemas": [], "active": true}))),
        400,
        Some("invalidValue"),
    );
    let after_error = status();
    assert_eq!((after_error["requests"].as_i64(), after_error["errors"].as_i64()), (Some(3), Some(2)), "{after_error}");
    assert_eq!(after_error["active_credentials"], 1);
    let last_error = &after_error["last_error"];
    assert_eq!(
        (last_error["method"].as_str(), last_error["status"].as_i64()),
        (Some("POST"), Some(400)),
        "{after_error}"
    );
    assert_eq!(last_error["path"], format!("/scim/acme/{REALM}/v2/Users"));
    assert!(last_error["detail"].as_str().is_some_and(|d| !d.is_empty()), "{after_error}");
    assert_eq!(after_error["last_request"], *last_error);

    assert_eq!(scim.call("GET", "/Users", None).status, 200);
    let after = status();
    assert_eq!((after["requests"].as_i64(), after["errors"].as_i64()), (Some(4), Some(2)), "{after}");
    assert_eq!(
        (after["last_request"]["method"].as_str(), after["last_request"]["status"].as_i64()),
        (Some("GET"), Some(200))
    );
    assert_eq!(after["last_request"]["detail"], Value::Null);
    assert_eq!(after["last_error"], *last_error, "the latest error stays");
    let audited = audit_actions(&fx.server, &fx.tenant, "scim.request");
    assert_eq!(audited.len(), 4, "one audit entry per counted request");
    assert_eq!(after["last_request"]["at"], audited[3]["at"]);

    // A refused credential is not a request of the realm's client: not counted.
    let refused = server.call_with_headers(
        "GET",
        &format!("/scim/acme/{REALM}/v2/Users"),
        &[("authorization", "Bearer not-a-token")],
        Body::None,
    );
    assert_eq!(refused.status, 401);
    assert_eq!(status()["requests"], 4);
}

fn protocol_errors_have_the_right_status_and_scim_type(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (scim, _) = Scim::connect(&fx);
    let ada = scim.call("POST", "/Users", Some(&user_body("ada@acme.com", "entra-ada", "Sales")));
    assert_eq!(ada.status, 201, "{}", ada.text);
    let id = ada.json["id"].as_str().unwrap();

    assert_scim_error(
        &scim.call("POST", "/Users", Some(&user_body("ADA@acme.com", "other", "Sales"))),
        409,
        Some("uniqueness"),
    );
    assert_scim_error(
        &scim.call("POST", "/Users", Some(&user_body("bob@acme.com", "entra-ada", "Sales"))),
        409,
        Some("uniqueness"),
    );
    assert_scim_error(
        &scim.call("POST", "/Users", Some(&json!({"schemas": [], "active": true}))),
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &scim.call("POST", "/Users", Some(&json!({"userName": "x", "active": 7}))),
        400,
        Some("invalidValue"),
    );
    assert_scim_error(&scim.call("GET", "/Users?filter=userName%20zz%20%22x%22", None), 400, Some("invalidFilter"));
    assert_scim_error(&scim.call("GET", "/Users/no-such-user", None), 404, None);
    assert_scim_error(
        &scim.patch(&format!("/Users/{id}"), json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])),
        400,
        Some("noTarget"),
    );
    assert_scim_error(
        &scim.patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "id", "value": "mine"}])),
        400,
        Some("mutability"),
    );
    assert_scim_error(
        &scim.patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "nosuch", "value": 1}])),
        400,
        Some("invalidPath"),
    );
    assert_scim_error(
        &scim.call("PATCH", &format!("/Users/{id}"), Some(&json!({"Operations": []}))),
        400,
        Some("invalidSyntax"),
    );
    let group = json!({"displayName": "g", "members": [{"value": "no-such-user"}]});
    assert_scim_error(&scim.call("POST", "/Groups", Some(&group)), 400, Some("invalidValue"));
    let nothing = scim.call("GET", "/Groups?filter=displayName%20eq%20%22g%22", None);
    assert_eq!(nothing.json["totalResults"], 0, "the refused group was not created: {}", nothing.text);

    // A method a SCIM path does not take: a SCIM error too.
    assert_scim_error(&scim.call("PUT", "/Users", Some(&user_body("x@acme.com", "x", "Sales"))), 405, None);
    assert_scim_error(&scim.call("DELETE", "/ServiceProviderConfig", None), 405, None);

    // Bodies: not JSON, not SCIM JSON, too large.
    let auth = format!("Bearer {}", scim.token);
    let headers = [("authorization", auth.as_str())];
    let users = format!("{}/Users", scim.base);
    let malformed =
        server.call_with_headers("POST", &users, &headers, Body::Raw(b"{not json", Some("application/scim+json")));
    assert_scim_error(&malformed, 400, Some("invalidSyntax"));
    let text = server.call_with_headers("POST", &users, &headers, Body::Raw(b"userName=x", Some("text/plain")));
    assert_scim_error(&text, 415, None);
    let huge = format!("{{\"userName\": \"x\", \"title\": \"{}\"}}", "a".repeat(2 << 20));
    let too_large = server.send_raw("POST", &users, Some(&auth), Some("application/scim+json"), huge.as_bytes());
    assert_eq!(too_large.status, 413, "{}", too_large.head);
    let body: Value = serde_json::from_str(&too_large.body).expect("a SCIM error body");
    assert_eq!(body["status"], "413", "{body}");

    // If-Match: a stale version is refused with 412 and nothing changes.
    let stale = [("authorization", auth.as_str()), ("if-match", "W/\"99\"")];
    let body = serde_json::to_vec(
        &json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}),
    )
    .unwrap();
    let refused = server.call_with_headers(
        "PATCH",
        &format!("{users}/{id}"),
        &stale,
        Body::Raw(&body, Some("application/scim+json")),
    );
    assert_scim_error(&refused, 412, None);
    assert_eq!(scim.call("GET", &format!("/Users/{id}"), None).json["title"], "Sales Manager");
}

fn bulk_deprovisioning_reports_each_row(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (scim, _) = Scim::connect(&fx);
    for (name, external) in [("ada@acme.com", "entra-ada"), ("bob@acme.com", "entra-bob")] {
        assert_eq!(scim.call("POST", "/Users", Some(&user_body(name, external, "Sales"))).status, 201);
    }
    let csv = b"userName\nADA@acme.com\nnobody@acme.com\nbob@acme.com\nbob@acme.com\n";
    let path = format!("{}/deprovision", fx.realm_path());
    let reply = fx.server.call("POST", &path, fx.admin(), Body::Raw(csv, Some("text/csv")));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let report = &reply.json;
    assert_eq!(
        (report["deactivated"].as_i64(), report["not_found"].as_i64(), report["already_deactivated"].as_i64()),
        (Some(2), Some(1), Some(1)),
        "{report}"
    );
    let outcomes: Vec<&str> =
        report["rows"].as_array().unwrap().iter().map(|row| row["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["deactivated", "not_found", "deactivated", "already_deactivated"]);
    assert_eq!(report["rows"][0]["line"], 2);
    let by_external_id = fx.server.call("POST", &path, fx.admin(), Body::Raw(b"entra-ada\n", Some("text/csv")));
    assert_eq!(by_external_id.json["already_deactivated"], 1, "{}", by_external_id.text);
    let json_body = fx.server.call("POST", &path, fx.admin(), Body::Json(&json!({"users": []})));
    assert_eq!(json_body.status, 415, "{}", json_body.text);
    assert_eq!(audit_actions(&fx.server, &fx.tenant, "user.deactivated").len(), 2);
}

/// Entra's PUT-based updates replace the resource and re-decide; the admin API deactivates,
/// reactivates and deletes like SCIM does; refused SCIM requests are audited with the reason.
fn put_updates_and_admin_deprovisioning_decide_and_audit(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (scim, _) = Scim::connect(&fx);
    let created = scim.call("POST", "/Users", Some(&user_body("ada@acme.com", "entra-ada", "Sales")));
    let ada = created.json["id"].as_str().unwrap().to_owned();

    // PUT: the resource sent is the user; attributes not sent are gone.
    let mut replaced = user_body("ada@acme.com", "entra-ada", "Engineering");
    replaced.as_object_mut().unwrap().remove("title");
    let put = scim.call("PUT", &format!("/Users/{ada}"), Some(&replaced));
    assert_eq!(put.status, 200, "{}", put.text);
    assert!(put.json.get("title").is_none(), "{}", put.text);
    assert_eq!(put.json["meta"]["version"], "W/\"2\"");
    assert_eq!(admin_user(&fx, &ada)["organization"], "acme-engineering");
    assert_eq!(decision_triggers(&fx, &ada)[0], "scim_update");

    // The admin API: deactivate (idempotent), reactivate, delete.
    let user_path = format!("{}/users/{ada}", fx.realm_path());
    let (status, done) =
        fx.server.post(&format!("{user_path}/deactivate"), fx.admin(), &json!({"reason": "left the company"}));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["changed"], true);
    assert_eq!(done["deactivation"]["user"]["status"], "deactivated");
    let (_, again) = fx.server.post_empty(&format!("{user_path}/deactivate"), fx.admin());
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(scim.call("GET", &format!("/Users/{ada}"), None).json["active"], false);
    let (status, back) =
        fx.server.post(&format!("{user_path}/reactivate"), fx.admin(), &json!({"reason": "back from leave"}));
    assert_eq!(
        (status, back["status"].as_str(), back["organization"].as_str()),
        (200, Some("active"), Some("acme-engineering")),
        "{back}"
    );
    let reasons = audit_actions(&fx.server, &fx.tenant, "user.reactivation_reason");
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(
        (reasons[0]["target"].as_str(), &reasons[0]["details"]["reason"]),
        (Some(ada.as_str()), &json!("back from leave"))
    );
    let (_, again) = fx.server.post_empty(&format!("{user_path}/reactivate"), fx.admin());
    assert_eq!(again["status"], "active", "reactivating an active user changes nothing: {again}");
    assert_eq!(audit_actions(&fx.server, &fx.tenant, "user.reactivation_reason").len(), 1);
    let (status, _) = fx.server.delete(&user_path, fx.admin());
    assert_eq!(status, 200);
    assert_scim_error(&scim.call("GET", &format!("/Users/{ada}"), None), 404, None);
    let (status, body) = fx.server.delete(&user_path, fx.admin());
    assert_error(status, &body, 404, "not_found");

    // A refused SCIM request is audited with its reason.
    let refused = scim.call("POST", "/Users", Some(&json!({"active": true})));
    assert_scim_error(&refused, 400, Some("invalidValue"));
    let requests = audit_actions(&fx.server, &fx.tenant, "scim.request");
    let last = &requests.last().unwrap()["details"];
    assert_eq!((last["method"].as_str(), last["status"].as_i64()), (Some("POST"), Some(400)), "{last}");
    assert!(last["error"].as_str().unwrap().contains("userName"), "{last}");
    assert!(requests.last().unwrap()["actor"].as_str().unwrap().starts_with("scim:sc_"));
}

/// A SCIM event whose rules trap follows the realm's failure policy, as a login does: failing
/// closed, the change is refused and nothing is applied; keeping the last decision, the change
/// is applied and the organization stays; a SCIM create has no last decision and fails closed;
/// with a fallback organization, the created user is placed there.
fn scim_events_whose_rules_trap_follow_the_realms_failure_policy(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (scim, _) = Scim::connect(&fx);
    let created = scim.call("POST", "/Users", Some(&user_body("ada@acme.com", "entra-ada", "Engineering")));
    assert_eq!(created.status, 201, "{}", created.text);
    let ada = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(admin_user(&fx, &ada)["organization"], "acme-engineering");
    let upload = json!({"wasm": STANDARD.encode(trapping_user_rules()), "note": "traps"});
    let (status, body) = fx.server.post(&format!("{}/modules/user", fx.realm_path()), fx.admin(), &upload);
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        fx.server.post_empty(&format!("{}/modules/user/versions/2/activate", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{body}");
    let policy = |policy: Value| {
        let (status, realm) = fx.server.patch(&fx.realm_path(), fx.admin(), &json!({"failure_policy": policy}));
        assert_eq!(status, 200, "{realm}");
    };
    let moved_to_sales = user_body("ada@acme.com", "entra-ada", "Sales");

    // Failing closed (the default): refused, nothing applied.
    let refused = scim.call("PUT", &format!("/Users/{ada}"), Some(&moved_to_sales));
    assert_scim_error(&refused, 422, None);
    let department = |user: &Reply| user.json[ENTERPRISE]["department"].clone();
    assert_eq!(department(&scim.call("GET", &format!("/Users/{ada}"), None)), "Engineering");

    // Keeping the last decision: applied, the organization as it was, the record says why.
    policy(json!({"policy": "last_decision"}));
    let put = scim.call("PUT", &format!("/Users/{ada}"), Some(&moved_to_sales));
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(department(&put), "Sales");
    assert_eq!(admin_user(&fx, &ada)["organization"], "acme-engineering");
    let (_, list) = fx.server.get(&format!("/v1/tenants/acme/decisions?user={ada}&shadow=false"), fx.admin());
    let newest = &list["decisions"][0];
    assert_eq!(
        (newest["trigger"].as_str(), newest["applied"].as_bool()),
        (Some("scim_update"), Some(true)),
        "{newest}"
    );
    assert_eq!(newest["failure_policy"]["policy"], "last_decision", "{newest}");
    assert_eq!(newest["failure"]["kind"], "trap", "{newest}");

    // A create has no last decision: it fails closed.
    let bob = user_body("bob@acme.com", "entra-bob", "Sales");
    assert_scim_error(&scim.call("POST", "/Users", Some(&bob)), 422, None);

    // With a fallback organization, the created user is placed there.
    policy(json!({"policy": "fallback_organization", "organization": "acme"}));
    let created = scim.call("POST", "/Users", Some(&bob));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(admin_user(&fx, created.json["id"].as_str().unwrap())["organization"], "acme");
}

/// When a login's claims and SCIM disagree about Ada's provider groups, the realm's
/// `membership_source` says whose word counts, and the rules decide on that: `sales-emea` (a
/// SCIM group) is what puts Ada in `acme-sales`; without it she is blocked. Removal works both
/// ways: under `scim`, a group SCIM took away is not brought back by the next login's stale
/// claims, and claims cannot take a SCIM group away; under `claims`, a group the claims took
/// away is not brought back by SCIM writes, nor does SCIM take one away; the default, `newest`,
/// is unchanged: each event's word replaces what it speaks about.
fn provider_groups_follow_the_realms_membership_source(server: &TestServer) {
    // The expected provider groups after each step, for `newest` (the default, never set),
    // `scim` and `claims`.
    let steps: [(&str, [&[&str]; 3]); 7] = [
        (
            "login claiming sales-emea",
            [&["sales-emea", "everyone"], &["everyone", "sales-emea"], &["sales-emea", "everyone"]],
        ),
        ("SCIM removes Ada from sales-emea", [&["everyone"], &["everyone"], &["sales-emea", "everyone"]]),
        ("login with the stale claims", [&["sales-emea", "everyone"], &["everyone"], &["sales-emea", "everyone"]]),
        ("SCIM adds Ada back", [&["sales-emea", "everyone"], &["everyone", "sales-emea"], &["sales-emea", "everyone"]]),
        ("login claiming everyone only", [&["everyone"], &["everyone", "sales-emea"], &["everyone"]]),
        ("SCIM removes and re-adds Ada", [&["everyone", "sales-emea"], &["everyone", "sales-emea"], &["everyone"]]),
        ("login claiming other", [&["other"], &["other", "sales-emea"], &["other"]]),
    ];
    for (column, source) in [None, Some("scim"), Some("claims")].into_iter().enumerate() {
        let fx = Fixture::new(server, &format!("acme-{}", source.unwrap_or("default")));
        let (status, realm) = fx.server.get(&fx.realm_path(), fx.admin());
        assert_eq!((status, &realm["membership_source"]), (200, &json!("newest")), "the default: {realm}");
        if let Some(source) = source {
            let (status, realm) = fx.server.patch(&fx.realm_path(), fx.admin(), &json!({"membership_source": source}));
            assert_eq!((status, &realm["membership_source"]), (200, &json!(source)), "{realm}");
            let updated = audit_actions(&fx.server, &fx.tenant, "realm.updated");
            assert_eq!(updated.last().unwrap()["details"], json!({"membership_source": source}));
        }
        let (scim, _) = Scim::connect(&fx);
        let created = scim.call("POST", "/Users", Some(&user_body("ada@acme.com", "entra-ada", "Sales")));
        assert_eq!(created.status, 201, "{}", created.text);
        let ada = created.json["id"].as_str().unwrap().to_owned();
        let group = scim.call(
            "POST",
            "/Groups",
            Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "sales-emea",
                         "members": [{"value": ada}]})),
        );
        assert_eq!(group.status, 201, "{}", group.text);
        let sales = group.json["id"].as_str().unwrap().to_owned();
        let login = |groups: &[&str]| {
            let (status, answer) = fx.login(&json!({
                "provider_user_id": "entra-ada", "user_name": "ada@acme.com",
                "attributes": {"department": ["Sales"]}, "provider_groups": groups,
            }));
            assert_eq!(status, 200, "{answer}");
        };
        let membership = |op: &str| {
            let operation = match op {
                "add" => json!({"op": "add", "path": "members", "value": [{"value": ada}]}),
                _ => json!({"op": "remove", "path": format!("members[value eq \"{ada}\"]")}),
            };
            let reply = scim.patch(&format!("/Groups/{sales}"), json!([operation]));
            assert!(matches!(reply.status, 200 | 204), "{}", reply.text);
        };
        for (step, (what, expected)) in steps.iter().enumerate() {
            match step {
                0 => login(&["sales-emea", "everyone"]),
                1 => membership("remove"),
                2 => login(&["sales-emea", "everyone"]),
                3 => membership("add"),
                4 => login(&["everyone"]),
                5 => {
                    membership("remove");
                    membership("add");
                }
                _ => login(&["other"]),
            }
            let expected = expected[column];
            let context = format!("{} after {what}", source.unwrap_or("default"));
            let stored = admin_user(&fx, &ada);
            assert_eq!(stored["provider_groups"], json!(expected), "{context}: {stored}");
            let organization = if expected.contains(&"sales-emea") { json!("acme-sales") } else { Value::Null };
            assert_eq!(stored["organization"], organization, "{context}: the rules decided on them: {stored}");
            let (_, list) =
                fx.server.get(&format!("/v1/tenants/{}/decisions?user={ada}&shadow=false", fx.tenant.id), fx.admin());
            let newest = &list["decisions"][0];
            assert_eq!(newest["input"]["user"]["provider_groups"], json!(expected), "{context}: what the rules saw");
        }
        let members = scim.call("GET", &format!("/Groups/{sales}"), None);
        assert_eq!(members.json["members"][0]["value"], ada.as_str(), "SCIM's member list is SCIM's: {}", members.text);
        if source == Some("claims") {
            let triggers = decision_triggers(&fx, &ada);
            assert!(
                !triggers[..triggers.len() - 2].contains(&"scim_group_change".to_owned()),
                "SCIM writes after the first login re-decided nothing: {triggers:?}"
            );
        }
    }

    // The setting is one of three names, never null.
    let fx = Fixture::new(server, "acme-refused");
    for bad in
        [json!({"membership_source": "oldest"}), json!({"membership_source": null}), json!({"membership_source": 1})]
    {
        let (status, body) = fx.server.patch(&fx.realm_path(), fx.admin(), &bad);
        assert_error(status, &body, 422, "unprocessable");
    }
    let (status, body) = fx.server.post(
        &format!("/v1/tenants/{}/realms", fx.tenant.id),
        fx.admin(),
        &json!({"id": "okta", "name": "Okta", "membership_source": "claims"}),
    );
    assert_eq!((status, &body["membership_source"]), (201, &json!("claims")), "{body}");
}

fn admin_user(fx: &Fixture, id: &str) -> Value {
    let (status, user) = fx.server.get(&format!("{}/users/{id}", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{user}");
    user
}

/// The triggers of the user's decisions, newest first.
fn decision_triggers(fx: &Fixture, user: &str) -> Vec<String> {
    let (_, list) =
        fx.server.get(&format!("/v1/tenants/{}/decisions?user={user}&shadow=false", fx.tenant.id), fx.admin());
    list["decisions"].as_array().unwrap().iter().map(|d| d["trigger"].as_str().unwrap().to_owned()).collect()
}

fn introspect(fx: &Fixture, session: &str) -> Value {
    let (status, answer) =
        fx.server.post(&format!("{}/sessions/introspect", fx.realm_path()), fx.eval(), &json!({"session": session}));
    assert_eq!(status, 200, "{answer}");
    answer
}

// ---------------------------------------------------------------------------------------------
// The URLs the server writes: never a hostile Host or X-Forwarded-Proto.

/// A request sent with exactly `headers` (a Host among them, or several), and its JSON answer.
fn raw(server: &Client, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> (u16, Value) {
    let bytes = body.map(|body| serde_json::to_vec(body).unwrap()).unwrap_or_default();
    let reply = server.send_raw_with_headers(method, path, headers, &bytes);
    let json = serde_json::from_str(&reply.body).unwrap_or_else(|_| Value::String(reply.body.clone()));
    (reply.status, json)
}

/// `headers` with `Authorization` and `Content-Type`.
fn with_headers<'a>(
    headers: &[(&'a str, &'a str)],
    authorization: &'a str,
    content_type: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut all = headers.to_vec();
    all.extend([("Authorization", authorization), ("Content-Type", content_type)]);
    all
}

/// Without `public_url`, the URLs the server writes take the request's Host and
/// X-Forwarded-Proto, but only a host name (or IP address) with an optional port and `http` or
/// `https`: anything else is a 400 before anything is written, on the API and on SCIM, and
/// never ends up in a URL.
#[test]
fn a_hostile_host_or_forwarded_proto_is_refused_and_never_reflected() {
    let server = TestServer::start(Backend::Sqlite, "hostile_host");
    let fx = Fixture::new(&server, "acme");
    let (scim, credential) = Scim::connect(&fx);
    let address = server.url().trim_start_matches("http://").to_owned();
    let admin = format!("Bearer {}", fx.tenant.admin);
    let bearer = format!("Bearer {}", scim.token);
    let credentials = format!("{}/scim/credentials", fx.realm_path());
    let rotate = format!("{credentials}/{}/rotate", credential["client_id"].as_str().unwrap());
    let users = format!("{}/Users", scim.base);
    let hostile: Vec<Vec<(&str, &str)>> = vec![
        vec![("Host", "evil.example/x")],
        vec![("Host", "javascript:alert(1)")],
        vec![("Host", "user@evil.example")],
        vec![("Host", "evil example")],
        vec![("Host", "evil.example:99999")],
        vec![("Host", "evil.example?")],
        vec![("Host", "a.example"), ("Host", "evil.example")],
        vec![("Host", &address), ("X-Forwarded-Proto", "javascript")],
        vec![("Host", &address), ("X-Forwarded-Proto", "https://evil.example/")],
        vec![("Host", &address), ("X-Forwarded-Proto", "ftp")],
    ];
    for (n, headers) in hostile.iter().enumerate() {
        let with = |authorization, content_type| with_headers(headers, authorization, content_type);
        // The admin API: a JSON 400, and no credential is created or rotated.
        let (status, body) = raw(&server, "POST", &credentials, &with(&admin, "application/json"), Some(&json!({})));
        assert_error(status, &body, 400, "bad_request");
        assert!(!body.to_string().contains("evil") && !body.to_string().contains("javascript"), "{headers:?}: {body}");
        let (status, body) = raw(&server, "POST", &rotate, &with(&admin, "application/json"), None);
        assert_error(status, &body, 400, "bad_request");
        // SCIM: a SCIM 400, and no user is created.
        let (status, body) = raw(&server, "GET", &users, &with(&bearer, "application/scim+json"), None);
        assert_eq!(status, 400, "{headers:?}: {body}");
        assert_eq!(body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{body}");
        assert!(!body.to_string().contains("evil") && !body.to_string().contains("javascript"), "{headers:?}: {body}");
        let user = user_body(&format!("hostile{n}@acme.com"), &format!("hostile-{n}"), "Sales");
        let (status, body) = raw(&server, "POST", &users, &with(&bearer, "application/scim+json"), Some(&user));
        assert_eq!(status, 400, "{headers:?}: {body}");
    }
    let listed = scim.call("GET", "/Users", None);
    assert_eq!(listed.json["totalResults"], 0, "{}", listed.text);
    let (_, listed) = server.get(&credentials, fx.admin());
    assert_eq!(listed["credentials"].as_array().unwrap().len(), 1, "{listed}");
    token(&server, "acme", &credential).expect("the credential was not rotated");

    // A proxy's Host and scheme, when they are a host and http or https, are the URLs' base.
    let proxied = [
        ("Host", "muster.example:8443"),
        ("X-Forwarded-Proto", "https"),
        ("Authorization", admin.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, created) = raw(&server, "POST", &credentials, &proxied, Some(&json!({"label": "proxied"})));
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["token_url"], "https://muster.example:8443/scim/acme/entra/oauth/token", "{created}");
    assert_eq!(created["scim_url"], "https://muster.example:8443/scim/acme/entra/v2/", "{created}");
    let proxied = [
        ("Host", "muster.example:8443"),
        ("X-Forwarded-Proto", "https"),
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/scim+json"),
    ];
    let user = user_body("proxied@acme.com", "proxied", "Sales");
    let reply = server.send_raw_with_headers("POST", &users, &proxied, &serde_json::to_vec(&user).unwrap());
    assert_eq!(reply.status, 201, "{}", reply.text);
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    let location = body["meta"]["location"].as_str().unwrap();
    assert_eq!(
        location,
        format!("https://muster.example:8443/scim/acme/entra/v2/Users/{}", body["id"].as_str().unwrap())
    );
    assert!(reply.head.contains(&format!("location: {location}")), "{}", reply.head);
    // Without those headers, the client's own Host and plain http, as before.
    let (_, plain) = server.post(&credentials, fx.admin(), &json!({"label": "plain"}));
    assert_eq!(plain["token_url"], format!("http://{address}/scim/acme/entra/oauth/token"), "{plain}");
}

/// With `public_url`, every URL the server writes starts with it, whatever the request's Host
/// and X-Forwarded-Proto say (they are ignored: behind a proxy they may be internal values).
#[test]
fn with_a_public_url_every_url_starts_with_it() {
    let mut options = server::ServerOptions::fresh(Backend::Sqlite, "public_url");
    options.args = vec!["--public-url".into(), "https://muster.example.com/idm/".into()];
    let server = TestServer::start_with(options);
    let fx = Fixture::new(&server, "acme");
    let (scim, credential) = Scim::connect(&fx);
    assert_eq!(credential["token_url"], "https://muster.example.com/idm/scim/acme/entra/oauth/token", "{credential}");
    assert_eq!(credential["scim_url"], "https://muster.example.com/idm/scim/acme/entra/v2/", "{credential}");
    let config = scim.call("GET", "/ServiceProviderConfig", None);
    assert_eq!(config.status, 200, "{}", config.text);
    assert_eq!(
        config.json["meta"]["location"], "https://muster.example.com/idm/scim/acme/entra/v2/ServiceProviderConfig",
        "{}",
        config.text
    );

    // A hostile Host and scheme change nothing.
    let bearer = format!("Bearer {}", scim.token);
    let headers = [
        ("Host", "evil.example/x"),
        ("X-Forwarded-Proto", "javascript"),
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/scim+json"),
    ];
    let user = user_body("ada@acme.com", "ada", "Sales");
    let reply = server.send_raw_with_headers(
        "POST",
        &format!("{}/Users", scim.base),
        &headers,
        &serde_json::to_vec(&user).unwrap(),
    );
    assert_eq!(reply.status, 201, "{}", reply.text);
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(body["meta"]["location"], format!("https://muster.example.com/idm/scim/acme/entra/v2/Users/{id}"));
    assert!(!reply.text.contains("evil") && !reply.text.contains("javascript"), "{}", reply.text);
    let admin = format!("Bearer {}", fx.tenant.admin);
    let headers = [
        ("Host", "evil.example/x"),
        ("X-Forwarded-Proto", "javascript"),
        ("Authorization", admin.as_str()),
        ("Content-Type", "application/json"),
    ];
    let credentials = format!("{}/scim/credentials", fx.realm_path());
    let reply = server.send_raw_with_headers("POST", &credentials, &headers, b"{}");
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert!(
        reply.body.contains("\"token_url\":\"https://muster.example.com/idm/scim/acme/entra/oauth/token\""),
        "{}",
        reply.body
    );
    assert!(!reply.text.contains("evil") && !reply.text.contains("javascript"), "{}", reply.text);
}

/// The forms of the base URL SCIM clients send: `…/v2//Users` (Entra ID joining the documented
/// Tenant URL `…/v2/?aadOptscim062020` with `/Users`), a trailing slash, the base itself.
fn base_url_forms_reach_the_resources(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (scim, _) = Scim::connect(&fx);
    let ada = scim.call("POST", "//Users?aadOptscim062020", Some(&user_body("ada@acme.com", "entra-ada", "Sales")));
    assert_eq!(ada.status, 201, "{}", ada.text);
    let id = ada.json["id"].as_str().unwrap().to_owned();
    let location = ada.json["meta"]["location"].as_str().unwrap();
    assert!(location.ends_with(&format!("{}/Users/{id}", scim.base)), "{location}");

    for path in ["/Users/", "//Users", "//Users/", "///Users?aadOptscim062020"] {
        let list = scim.call("GET", path, None);
        assert_eq!(list.status, 200, "{path}: {}", list.text);
        assert_eq!(list.json["totalResults"], 1, "{path}: {}", list.text);
    }
    let found = scim.call("GET", "//Users?aadOptscim062020&filter=userName%20eq%20%22ada@acme.com%22", None);
    assert_eq!(found.json["Resources"][0]["id"], id.as_str(), "{}", found.text);
    for path in [format!("/Users/{id}/"), format!("//Users/{id}"), format!("//Users//{id}/")] {
        let got = scim.call("GET", &path, None);
        assert_eq!(got.status, 200, "{path}: {}", got.text);
        assert_eq!(got.json["userName"], "ada@acme.com");
    }
    let patched =
        scim.patch(&format!("//Users/{id}/"), json!([{"op": "replace", "path": "displayName", "value": "Ada"}]));
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(scim.call("GET", "//ServiceProviderConfig/", None).status, 200);
    assert_eq!(scim.call("GET", "/Groups/", None).status, 200);

    // The base itself is no resource: a SCIM 404 that says where the resources are, not the API's
    // JSON 404, with or without the slash (and still authenticated first).
    for path in ["", "/", "//", "/?aadOptscim062020"] {
        let base = scim.call("GET", path, None);
        assert_scim_error(&base, 404, None);
        assert!(base.json["detail"].as_str().unwrap().contains("/Users"), "{path}: {}", base.text);
    }
    let anonymous = server.call("GET", &format!("{}/", scim.base), None, Body::None);
    assert_scim_error(&anonymous, 401, None);
    // Elsewhere paths are left alone.
    assert_eq!(server.call("GET", "/v1/tenants//acme", fx.admin(), Body::None).status, 404);
}
