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
