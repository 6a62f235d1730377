//! The server started in this process through `muster::server::run` (not the binary), on a
//! `127.0.0.1:0` listener and the embedded store, with a configuration of the test's own: what
//! is configured is what the API does (body limit, session and SCIM token lifetimes, the public URL).
//!
//! The rule modules must have been built with `scripts/build-policies`.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

#[path = "support/db.rs"]
mod db;
#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/server.rs"]
mod server;
mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use fixture::*;
use serde_json::json;
use server::{Body, InProcessServer};

/// The body limit the server is started with: far below the default, so a small body passes it.
const BODY_LIMIT: usize = 4096;
/// The session lifetime it is started with (the default is 12 h).
const SESSION_LIFETIME: Duration = Duration::from_secs(90 * 60);
/// The SCIM token lifetime it is started with (the default is 1 h).
const SCIM_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// The public URL it is started with (the default is none: URLs follow the request's Host).
const PUBLIC_URL: &str = "https://muster.example.com";

#[test]
fn an_in_process_server_serves_the_api_with_its_configuration() {
    let server = InProcessServer::start("in-process", |config| {
        config.max_body_bytes = BODY_LIMIT;
        config.session_lifetime = SESSION_LIFETIME;
        config.scim_token_lifetime = SCIM_TOKEN_LIFETIME;
        config.public_url = Some(muster::config::PublicUrl::parse(PUBLIC_URL).unwrap());
    });
    let (status, health) = server.get("/healthz", None);
    assert_eq!(status, 200, "{health}");

    // The operator route, with the configured operator token; a tenant, realm and active rules
    // (module uploads, far larger than the body limit, have a limit of their own).
    let (status, body) = server.get("/v1/tenants", Some("not-the-operator-token"));
    assert_error(status, &body, 401, "unauthorized");
    let fx = Fixture::new(&server.client(), "acme");
    let (status, tenants) = server.get("/v1/tenants", OPERATOR);
    assert_eq!(status, 200, "{tenants}");
    assert!(tenants.to_string().contains("\"acme\""), "{tenants}");

    // The configured body limit: just under it is read (and judged on its content), over it is
    // a 413 before any handler runs.
    let under = json_of_size(BODY_LIMIT - 64);
    let reply = server.call("POST", "/v1/tenants", OPERATOR, Body::Raw(&under, Some("application/json")));
    assert_ne!(reply.status, 413, "{}", reply.text);
    let over = json_of_size(BODY_LIMIT + 64);
    let reply = server.send_raw(
        "POST",
        "/v1/tenants",
        Some(&format!("Bearer {}", server::OPERATOR_TOKEN)),
        Some("application/json"),
        &over,
    );
    assert_eq!(reply.status, 413, "{}", reply.text);
    assert!(reply.body.contains("payload_too_large"), "{}", reply.text);

    // The configured session lifetime, as the login service sees it on introspection.
    let before = now_millis();
    let (status, login) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{login}");
    let session = login["session"].as_str().unwrap();
    let (status, introspection) =
        server.post(&format!("{}/sessions/introspect", fx.realm_path()), fx.eval(), &json!({"session": session}));
    assert_eq!(status, 200, "{introspection}");
    assert_eq!(introspection["active"], true, "{introspection}");
    let expires_at = introspection["expires_at"].as_i64().unwrap();
    let lifetime = SESSION_LIFETIME.as_millis() as i64;
    assert!(
        (before + lifetime..=now_millis() + lifetime).contains(&expires_at),
        "the session expires {} ms after the login, not {lifetime}: {introspection}",
        expires_at - before
    );

    // The configured SCIM token lifetime, in the token endpoint's answer.
    let (status, credential) =
        server.post(&format!("{}/scim/credentials", fx.realm_path()), fx.admin(), &json!({"label": "Entra ID"}));
    assert_eq!(status, 201, "{credential}");
    assert_eq!(
        credential["token_url"],
        format!("{PUBLIC_URL}/scim/acme/{REALM}/oauth/token"),
        "the configured public URL"
    );
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            credential["client_id"].as_str().unwrap(),
            credential["client_secret"].as_str().unwrap()
        ))
    );
    let reply = server.call_with_headers(
        "POST",
        &format!("/scim/acme/{REALM}/oauth/token"),
        &[("authorization", basic.as_str())],
        Body::Raw(b"grant_type=client_credentials", Some("application/x-www-form-urlencoded")),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["expires_in"], SCIM_TOKEN_LIFETIME.as_secs(), "{}", reply.text);

    // A graceful shutdown: `run` returns, and the port no longer answers.
    let address = server.address;
    server.shutdown().unwrap();
    assert!(std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_err(), "{address} still answers");
}

/// A JSON document of exactly `size` bytes.
fn json_of_size(size: usize) -> Vec<u8> {
    let mut body = br#"{"padding": ""#.to_vec();
    body.resize(size - 2, b'a');
    body.extend_from_slice(b"\"}");
    body
}

fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

// ---------------------------------------------------------------------------------------------
// Bounded compilation.

/// A tenant and its realm `entra`, without modules.
fn tenant_with_realm(server: &InProcessServer, id: &str) -> Tenant {
    let tenant = Tenant::create(&server.client(), id);
    let (status, body) = server.post(
        &format!("/v1/tenants/{id}/realms"),
        Some(&tenant.admin),
        &json!({"id": REALM, "name": "Entra ID"}),
    );
    assert_eq!(status, 201, "{body}");
    tenant
}

/// Uploads `wasm` as user rules of `tenant`, with empty settings; the raw reply (for its headers).
fn upload_user_rules(server: &InProcessServer, tenant: &Tenant, wasm: &[u8]) -> server::RawReply {
    let body = serde_json::to_vec(&json!({"wasm": STANDARD.encode(wasm), "settings": {}, "note": "rules"})).unwrap();
    server.send_raw(
        "POST",
        &format!("/v1/tenants/{}/realms/{REALM}/modules/user", tenant.id),
        Some(&format!("Bearer {}", tenant.admin)),
        Some("application/json"),
        &body,
    )
}

/// The user-rules versions `tenant` has stored.
fn stored_versions(server: &InProcessServer, tenant: &Tenant) -> usize {
    let (status, list) =
        server.get(&format!("/v1/tenants/{}/realms/{REALM}/modules/user/versions", tenant.id), Some(&tenant.admin));
    assert_eq!(status, 200, "{list}");
    list["versions"].as_array().unwrap().len()
}

/// A minimal rule module, encoded directly, with one more function of type `() -> ()` per body
/// (each the raw encoding of a function body: locals, code, `end`).
fn module_with_bodies(bodies: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, MemorySection, MemoryType,
        Module, TypeSection, ValType,
    };
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    types.ty().function([ValType::I32], [ValType::I32]);
    types.ty().function([ValType::I32, ValType::I32], [ValType::I64]);
    types.ty().function([], []);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("muster_abi_version", ExportKind::Func, 0);
    exports.export("muster_alloc", ExportKind::Func, 1);
    exports.export("muster_user_rules", ExportKind::Func, 2);
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    for (ty, value) in
        [(0, Instruction::I32Const(1)), (1, Instruction::I32Const(0x8000)), (2, Instruction::I64Const(0))]
    {
        functions.function(ty);
        let mut function = Function::new([]);
        function.instruction(&value).instruction(&Instruction::End);
        code.function(&function);
    }
    for body in bodies {
        functions.function(3);
        code.raw(&body);
    }
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&memories).section(&exports).section(&code);
    module.finish()
}

/// A body that nests `depth` blocks.
fn nested_blocks(depth: usize) -> Vec<u8> {
    let mut body = vec![0x00];
    for _ in 0..depth {
        body.extend_from_slice(&[0x02, 0x40]);
    }
    body.resize(body.len() + depth + 1, 0x0b);
    body
}

/// A module that passes every shape limit and takes most of a second to compile: 2 MB of
/// functions of dependent arithmetic (about 100 KB each) on a local loaded from memory and
/// stored back.
fn slow_to_compile() -> Vec<u8> {
    let statement = [0x20, 0x00, 0x41, 0x07, 0x6c, 0x41, 0x03, 0x6a, 0x21, 0x00];
    let mut body = vec![0x01, 0x01, 0x7f, 0x41, 0x00, 0x28, 0x02, 0x00, 0x21, 0x00];
    for _ in 0..10_000 {
        body.extend_from_slice(&statement);
    }
    body.extend_from_slice(&[0x41, 0x00, 0x20, 0x00, 0x36, 0x02, 0x00, 0x0b]);
    module_with_bodies((0..20).map(|_| body.clone()))
}

#[test]
fn an_upload_over_a_shape_limit_is_422_naming_the_limit_and_stores_nothing() {
    let server = InProcessServer::start("shape-limits", |_| {});
    let tenant = tenant_with_realm(&server, "acme");
    // One function nesting 2000 blocks (6 KB): over the default depth limit of 1000.
    let reply = upload_user_rules(&server, &tenant, &module_with_bodies([nested_blocks(2000)]));
    assert_eq!(reply.status, 422, "{}", reply.text);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let message = assert_error(reply.status, &body, 422, "unprocessable");
    assert_eq!(message, "module refused: function 3 nests blocks 1001 deep; the limit is 1000 (max_nesting_depth)");
    assert_eq!(stored_versions(&server, &tenant), 0, "nothing stored");
    assert!(audit_actions(&server.client(), &tenant, "module.uploaded").is_empty(), "nothing audited");
    // At the limit, it is stored.
    let reply = upload_user_rules(&server, &tenant, &module_with_bodies([nested_blocks(1000)]));
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(stored_versions(&server, &tenant), 1);
}

#[test]
fn a_tenant_compiling_gets_429_for_more_while_other_tenants_upload() {
    // One compile per tenant. The slow upload times out (its compile goes on in the
    // background, in the tenant's slot), so the tenant's next upload finds its slot taken: 429
    // with Retry-After. Another tenant uploads meanwhile.
    let compile_timeout = Duration::from_millis(200);
    let server = InProcessServer::start("tenant-compiles", |config| {
        config.engine.compile_timeout = compile_timeout;
        config.engine.compile_wait = Duration::from_millis(5);
        config.engine.max_concurrent_compiles = 4;
    });
    let noisy = tenant_with_realm(&server, "noisy");
    let quiet = tenant_with_realm(&server, "quiet");
    let small = module_with_bodies([nested_blocks(10)]);

    let reply = upload_user_rules(&server, &noisy, &slow_to_compile());
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(reply.body.contains("compiling the module took longer than 200ms"), "{}", reply.text);
    let reply = upload_user_rules(&server, &noisy, &small);
    assert_eq!(reply.status, 429, "{}", reply.text);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let message = assert_error(reply.status, &body, 429, "too_many_requests");
    assert!(message.contains("tenant noisy already has 1 module compile(s) in progress"), "{message}");
    assert!(reply.head.to_ascii_lowercase().contains("retry-after: 1\r\n"), "{}", reply.head);

    let reply = upload_user_rules(&server, &quiet, &small);
    assert_eq!(reply.status, 201, "another tenant is not held up: {}", reply.text);

    // Once the background compile ends, the noisy tenant's slot is free again.
    let started = std::time::Instant::now();
    loop {
        let reply = upload_user_rules(&server, &noisy, &small);
        if reply.status == 201 {
            break;
        }
        assert_eq!(reply.status, 429, "{}", reply.text);
        assert!(started.elapsed() < Duration::from_secs(120), "the tenant's slot was never freed");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(stored_versions(&server, &noisy), 1, "only the small module was stored");
}

#[test]
fn the_load_floor_is_served_only_where_asked_for() {
    let login_body = json!({"user_name": "ada@example.com", "email": "ada@example.com", "groups": ["a", "b"]});
    let without = InProcessServer::start("floor-off", |_| {});
    let (status, body) = without.post("/floor", None, &login_body);
    assert_error(status, &body, 404, "not_found");

    let with = InProcessServer::start("floor-on", |config| config.benchmark_floor = true);
    let (status, body) = with.post("/floor", None, &login_body);
    assert_eq!((status, body), (200, json!({"status": "ok", "fields": 3})), "read and parsed, without a key");
    let reply = with.call("POST", "/floor", None, Body::Raw(b"{\"user_na", Some("application/json")));
    assert_eq!(reply.status, 400, "parsed like any API body: {}", reply.text);
}
