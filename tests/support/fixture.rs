//! The tenant fixture the end-to-end suites share: a tenant with keys, organizations and realm
//! `entra` with the stock user and group rules active, the claims of the users they decide
//! about, and checks of the API's error shape and audit log.

#![allow(dead_code, reason = "Each test binary uses a different subset.")]

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

use crate::server::{Client, OPERATOR_TOKEN};

/// The operator token of test servers.
pub const OPERATOR: Option<&str> = Some(OPERATOR_TOKEN);
/// The realm every fixture has.
pub const REALM: &str = "entra";

/// A tenant with its admin key and an evaluation key.
pub struct Tenant {
    pub id: String,
    pub admin: String,
    pub admin_key_id: String,
    pub eval: String,
    pub eval_key_id: String,
}

impl Tenant {
    pub fn create(server: &Client, id: &str) -> Tenant {
        let (status, created) =
            server.post("/v1/tenants", OPERATOR, &json!({"id": id, "name": format!("Tenant {id}")}));
        assert_eq!(status, 201, "{created}");
        let admin = created["token"].as_str().unwrap().to_owned();
        let (status, key) = server.post(
            &format!("/v1/tenants/{id}/keys"),
            Some(&admin),
            &json!({"kind": "evaluation", "label": "login service"}),
        );
        assert_eq!(status, 201, "{key}");
        assert_eq!(key["key"]["kind"], "evaluation");
        Tenant {
            id: id.to_owned(),
            admin_key_id: created["admin_key"]["id"].as_str().unwrap().to_owned(),
            admin,
            eval: key["token"].as_str().unwrap().to_owned(),
            eval_key_id: key["key"]["id"].as_str().unwrap().to_owned(),
        }
    }
}

/// A tenant with organizations and realm `entra` whose user rules (v1) and group rules (v1) are
/// active.
pub struct Fixture {
    pub server: Client,
    pub tenant: Tenant,
}

impl Fixture {
    pub fn new(server: &Client, tenant: &str) -> Fixture {
        let fx = Fixture { server: server.clone(), tenant: Tenant::create(server, tenant) };
        for (id, name) in [
            ("acme", "ACME"),
            ("acme-sales", "ACME Sales"),
            ("acme-emea", "ACME EMEA"),
            ("acme-engineering", "ACME Engineering"),
        ] {
            let (status, body) =
                server.put(&format!("/v1/tenants/{tenant}/organizations/{id}"), fx.admin(), &json!({"name": name}));
            assert_eq!(status, 200, "{body}");
        }
        let (status, body) =
            server.post(&format!("/v1/tenants/{tenant}/realms"), fx.admin(), &json!({"id": REALM, "name": "Entra ID"}));
        assert_eq!(status, 201, "{body}");
        for (kind, artifact, settings) in
            [("user", "user_rules", user_rules_v1()), ("group", "group_rules", group_rules_v1())]
        {
            let version = fx.upload(kind, artifact, &settings, "initial rules");
            assert_eq!(version["version"], 1, "{version}");
            let (status, body) =
                server.post_empty(&format!("{}/modules/{kind}/versions/1/activate", fx.realm_path()), fx.admin());
            assert_eq!(status, 200, "{body}");
        }
        fx
    }

    /// The same tenant, spoken to through another server.
    pub fn on(&self, server: &Client) -> Fixture {
        Fixture {
            server: server.clone(),
            tenant: Tenant {
                id: self.tenant.id.clone(),
                admin: self.tenant.admin.clone(),
                admin_key_id: self.tenant.admin_key_id.clone(),
                eval: self.tenant.eval.clone(),
                eval_key_id: self.tenant.eval_key_id.clone(),
            },
        }
    }

    pub fn admin(&self) -> Option<&str> {
        Some(&self.tenant.admin)
    }

    pub fn eval(&self) -> Option<&str> {
        Some(&self.tenant.eval)
    }

    pub fn realm_path(&self) -> String {
        format!("/v1/tenants/{}/realms/{REALM}", self.tenant.id)
    }

    pub fn upload(&self, kind: &str, artifact: &str, settings: &Value, note: &str) -> Value {
        let body = json!({"wasm": STANDARD.encode(module_bytes(artifact)), "settings": settings, "note": note});
        let (status, version) = self.server.post(&format!("{}/modules/{kind}", self.realm_path()), self.admin(), &body);
        assert_eq!(status, 201, "{version}");
        version
    }

    pub fn login(&self, claims: &Value) -> (u16, Value) {
        self.server.post(&format!("{}/login", self.realm_path()), self.eval(), claims)
    }
}

/// Ada: Sales, in `sales-emea`: v1 sends her to acme-sales (rule `sales`), v2 to acme-emea.
pub fn ada_claims() -> Value {
    json!({
        "provider_user_id": "entra-ada",
        "user_name": "ada@acme.com",
        "email": "ada@acme.com",
        "display_name": "Ada Lovelace",
        "attributes": {"department": ["Sales"], "title": ["Sales Manager"]},
        "provider_groups": ["sales-emea", "everyone"],
    })
}

/// Bob: Marketing: no v1 rule matches him (blocked); v2's fallback takes him.
pub fn bob_claims() -> Value {
    json!({
        "provider_user_id": "entra-bob",
        "user_name": "bob@example.org",
        "attributes": {"department": ["Marketing"]},
        "provider_groups": ["everyone"],
    })
}

pub fn user_rules_v1() -> Value {
    json!({
        "rules": [
            {"name": "sales", "organization": "acme-sales",
             "when": {"all": [{"attribute": {"name": "department", "equals": "Sales"}},
                              {"provider_group": {"regex": "^sales-"}}]}},
            {"name": "engineering", "organization": "acme-engineering",
             "when": {"attribute": {"name": "department", "equals": "Engineering"}}}
        ],
        "groups": [
            {"name": "managers", "group": "all-managers", "when": {"attribute": {"name": "title", "regex": "(?i)manager"}}}
        ]
    })
}

pub fn user_rules_v2() -> Value {
    json!({
        "rules": [
            {"name": "sales v2", "organization": "acme-emea", "when": {"attribute": {"name": "department", "equals": "Sales"}}}
        ],
        "fallback": "acme"
    })
}

pub fn group_rules_v1() -> Value {
    json!({"rules": [{"name": "sales", "pattern": "^sales-", "organizations": ["acme-sales"]}]})
}

pub fn module_bytes(artifact: &str) -> Vec<u8> {
    std::fs::read(crate::support::module(artifact)).expect("read the built module")
}

/// Checks the API's error shape `{"error": {"code", "message"}}` and returns the message.
#[track_caller]
pub fn assert_error(status: u16, body: &Value, expected_status: u16, expected_code: &str) -> String {
    assert_eq!(status, expected_status, "expected {expected_status} {expected_code}, got {status}: {body}");
    let error = body.get("error").unwrap_or_else(|| panic!("no `error` object in {body}"));
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "only `error`: {body}");
    assert_eq!(error["code"], expected_code, "{body}");
    let message = error["message"].as_str().unwrap_or_else(|| panic!("no message in {body}"));
    assert!(!message.trim().is_empty(), "{body}");
    message.to_owned()
}

/// Every audit event of a tenant matching `query`, following `next_after`.
pub fn audit_all(server: &Client, tenant: &Tenant, query: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let mut url = format!("/v1/tenants/{}/audit?limit=1000", tenant.id);
        if !query.is_empty() {
            url.push('&');
            url.push_str(query);
        }
        if let Some(seq) = after {
            url.push_str(&format!("&after={seq}"));
        }
        let (status, page) = server.get(&url, Some(&tenant.admin));
        assert_eq!(status, 200, "{page}");
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_after"].as_i64() {
            Some(seq) => after = Some(seq),
            None => return events,
        }
    }
}

pub fn audit_actions(server: &Client, tenant: &Tenant, action: &str) -> Vec<Value> {
    audit_all(server, tenant, &format!("action={action}"))
}

/// A module that speaks the ABI (memory, version, allocator) with `exports` beside.
fn abi_module(exports: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
  (memory (export "memory") 1)
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param i32) (result i32) (i32.const 1024))
  {exports})"#
    ))
    .unwrap()
}

/// A user-rules module that uploads (it speaks the ABI) and traps on every user.
pub fn trapping_user_rules() -> Vec<u8> {
    abi_module(r#"(func (export "muster_user_rules") (param i32 i32) (result i64) unreachable)"#)
}

/// A user-rules module that uploads (it speaks the ABI and prepares no settings of its own) but
/// traps while loading its settings into the instance (`muster_load_settings`).
pub fn settings_loader_that_traps() -> Vec<u8> {
    abi_module(
        r#"(func (export "muster_load_settings") (param i32 i32) (result i64) unreachable)
  (func (export "muster_user_rules") (param i32 i32) (result i64) unreachable)"#,
    )
}
