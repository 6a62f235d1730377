//! The server's own bounds, against the real `muster serve` binary over raw TCP where the test is
//! about the connection itself: an unauthenticated or misdirected upload costs neither memory
//! nor CPU whatever its size; a connection that does not send a request in time is closed; more
//! connections than the cap wait; a keep-alive connection ends after its request limit; a
//! request that does not complete in time is answered 408.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

#[path = "support/db.rs"]
mod db;
#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/server.rs"]
mod server;
mod support;

use std::{
    io::{ErrorKind, Read, Write},
    net::TcpStream,
    time::Duration,
};

use fixture::*;
use server::{Backend, ServerOptions, TestServer};

/// A server on the embedded store with these extra flags.
fn server_with(label: &str, args: &[&str]) -> TestServer {
    let mut options = ServerOptions::fresh(Backend::Sqlite, label);
    options.args = args.iter().map(|arg| (*arg).to_owned()).collect();
    TestServer::start_with(options)
}

fn connect(server: &TestServer) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream
}

/// Reads until the server closes the connection; `Err` if it is still open after the read
/// timeout.
fn read_until_closed(stream: &mut TcpStream) -> Result<String, std::io::Error> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(String::from_utf8_lossy(&received).into_owned()),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => {
                return Ok(String::from_utf8_lossy(&received).into_owned());
            }
            Err(error) => return Err(error),
        }
    }
}

/// Reads one whole answer (head and `Content-Length` body) off a keep-alive connection.
fn read_answer(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the connection closed mid-answer: {received:?}");
        received.push(byte[0]);
    }
    let head = String::from_utf8(received).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

/// Sends `POST path` with a `size`-byte JSON body in full (a failed write fails the test: the
/// server must read what it is sent, not reset the connection under the client) and returns
/// the status and the answer.
fn upload_in_full(port: u16, path: &str, authorization: &str, size: usize) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {authorization}\r\n\
         Content-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let prefix = b"{\"wasm\": \"";
    let suffix = b"\"}";
    stream.write_all(prefix).unwrap();
    let filler = vec![b'A'; 64 << 10];
    let mut left = size - prefix.len() - suffix.len();
    while left > 0 {
        let n = left.min(filler.len());
        stream.write_all(&filler[..n]).expect("the server reads a refused body instead of resetting the connection");
        left -= n;
    }
    stream.write_all(suffix).unwrap();
    let answer = read_until_closed(&mut stream).unwrap();
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

#[test]
fn refused_uploads_cost_a_constant_amount_of_memory_and_cpu_whatever_their_size() {
    let server = TestServer::start(Backend::Sqlite, "bounds-uploads");
    let fx = Fixture::new(&server, "uploads");
    let port = server.port;
    let upload = format!("{}/modules/user", fx.realm_path());
    let elsewhere = format!("/v1/tenants/{}/realms/no-such-realm/modules/user", fx.tenant.id);
    let admin = format!("Bearer {}", fx.tenant.admin);
    let memory_before = server.peak_resident_bytes();
    let cpu_before = server.cpu_seconds();

    // Sixteen at once, each of 16 MiB (the upload limit): a wrong key, and a valid key for a
    // realm that does not exist.
    let size = 16 << 20;
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let (path, authorization) = if i % 2 == 0 {
                (upload.clone(), "Bearer mk_nosuchkey.secret".to_owned())
            } else {
                (elsewhere.clone(), admin.clone())
            };
            std::thread::spawn(move || upload_in_full(port, &path, &authorization, size))
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        let (status, answer) = thread.join().unwrap();
        let expected = if i % 2 == 0 { 401 } else { 404 };
        assert_eq!(status, expected, "{answer}");
        assert!(answer.contains("\"error\""), "a JSON error: {answer}");
    }

    let grown = server.peak_resident_bytes().saturating_sub(memory_before);
    let cpu = server.cpu_seconds() - cpu_before;
    // Reading the bodies into memory (16 × 16 MiB) would take at least 256 MiB; parsing them as
    // JSON and base64 far more, and seconds of CPU.
    assert!(grown < 48 << 20, "refused uploads grew the server by {} MiB", grown >> 20);
    assert!(cpu < 3.0, "refused uploads took {cpu:.2} s of CPU");

    // A client that waits for `100 Continue` gets its refusal without sending the body.
    let mut stream = connect(&server);
    let head = format!(
        "POST {upload} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer mk_nosuchkey.secret\r\n\
         Content-Type: application/json\r\nContent-Length: {size}\r\nExpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let answer = read_answer(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

    // And an upload with the right key is still stored.
    let version = fx.upload("user", "user_rules", &user_rules_v2(), "after the refusals");
    assert_eq!(version["version"], 2, "{version}");
}

#[test]
fn a_connection_that_sends_no_whole_request_in_time_is_closed() {
    let server = server_with("bounds-header-timeout", &["--header-read-timeout=1s"]);

    // Half a request head, then nothing.
    let mut half_sent = connect(&server);
    half_sent.write_all(format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", server.port).as_bytes()).unwrap();
    read_until_closed(&mut half_sent).expect("a half-sent request head is closed after the header-read timeout");

    // Nothing at all.
    let mut silent = connect(&server);
    read_until_closed(&mut silent).expect("a silent connection is closed after the header-read timeout");

    // A keep-alive connection that goes idle after one answer.
    let mut idle = connect(&server);
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", server.port).as_bytes()).unwrap();
    let answer = read_answer(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let rest = read_until_closed(&mut idle).expect("an idle keep-alive connection is closed after the timeout");
    assert_eq!(rest, "", "nothing more is sent on an idle connection");
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    let server = server_with("bounds-connections", &["--max-connections=2", "--header-read-timeout=60s"]);
    let holders = [connect(&server), connect(&server)];
    // Both slots are taken once the server has accepted the holders; give it a moment to.
    std::thread::sleep(Duration::from_millis(500));

    let mut waiting = connect(&server);
    waiting.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    waiting.write_all(format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", server.port).as_bytes()).unwrap();
    let mut byte = [0u8; 1];
    let early = waiting.read(&mut byte);
    assert!(
        matches!(&early, Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "a third connection is not served while two hold the cap: {early:?}"
    );

    drop(holders);
    waiting.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let answer = read_answer(&mut waiting);
    assert!(answer.starts_with("HTTP/1.1 200"), "served once a slot is free: {answer}");
}

#[test]
fn a_keep_alive_connection_ends_after_its_request_limit() {
    let server = server_with("bounds-keep-alive", &["--max-requests-per-connection=3"]);
    let mut stream = connect(&server);
    let request = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", server.port);
    for n in 1..=3 {
        stream.write_all(request.as_bytes()).unwrap();
        let answer = read_answer(&mut stream);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let closes = answer.to_ascii_lowercase().contains("connection: close");
        assert_eq!(closes, n == 3, "answer {n} says `Connection: close` only at the limit: {answer}");
    }
    assert_eq!(read_until_closed(&mut stream).unwrap(), "", "the server closes the connection after the limit");
}

#[test]
fn a_request_that_does_not_complete_in_time_is_answered_408() {
    // Long enough for the fixture's module uploads (each compiles a stock module) beside the
    // other tests; the half-sent request below still waits for it in full.
    let server = server_with("bounds-request-timeout", &["--request-timeout=5s"]);
    let fx = Fixture::new(&server, "slow");
    let mut stream = connect(&server);
    // A body announced as 100 bytes, of which 10 come.
    let head = format!(
        "POST {}/login HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user_na",
        fx.realm_path(),
        server.port,
        fx.tenant.eval
    );
    stream.write_all(head.as_bytes()).unwrap();
    let answer = read_answer(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "a JSON error with its code: {answer}");
}

/// `Retry-After` of a raw answer, in seconds.
fn retry_after(head: &str) -> u64 {
    head.lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("retry-after:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or_else(|| panic!("no Retry-After: {head}"))
}

#[test]
fn an_address_that_fails_to_authenticate_too_often_is_refused_for_a_while() {
    let server = server_with("bounds-auth-failures", &["--auth-failures-per-minute=60"]);
    let fx = Fixture::new(&server, "guessed");
    let tenant = fx.tenant.id.clone();
    let keys = format!("/v1/tenants/{tenant}/keys");

    // Wrong keys, until refused: the budget is 60 at once (refilling one a second).
    let mut failures = 0;
    let refused = loop {
        let reply = server.send_raw("GET", &keys, Some("Bearer mk_guess.guess"), None, b"");
        if reply.status != 401 {
            break reply;
        }
        failures += 1;
        assert!(failures < 100, "never refused");
    };
    assert!((60..=70).contains(&failures), "refused after {failures} failures");
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(refused.body.contains("\"rate_limited\""), "{}", refused.text);
    let wait = retry_after(&refused.head);
    assert!((1..=60).contains(&wait), "{wait}");

    // Refused whatever it presents now, on every kind of credential, before it is looked at.
    let right_key = format!("Bearer {}", fx.tenant.admin);
    assert_eq!(server.send_raw("GET", &keys, Some(&right_key), None, b"").status, 429);
    let scim = server.send_raw("GET", &format!("/scim/{tenant}/{REALM}/v2/Users"), Some("Bearer nope"), None, b"");
    assert_eq!(scim.status, 429, "{}", scim.text);
    retry_after(&scim.head);
    let operator = server.send_raw("GET", "/v1/tenants", Some("Bearer not-the-operator"), None, b"");
    assert_eq!(operator.status, 429, "{}", operator.text);

    // Once the budget has refilled a little, the right key works again; the burst was audited
    // once, not once per refusal.
    std::thread::sleep(Duration::from_secs(wait + 1));
    let reply = server.send_raw("GET", &keys, Some(&right_key), None, b"");
    assert_eq!(reply.status, 200, "{}", reply.text);
    let limited = audit_actions(&server, &fx.tenant, "auth.rate_limited");
    assert_eq!(limited.len(), 1, "{limited:?}");
    assert_eq!(limited[0]["details"]["address"], "127.0.0.1", "{:?}", limited[0]);
}

#[test]
fn the_token_endpoint_is_rate_limited_and_a_client_holds_a_bounded_number_of_tokens() {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    let server = server_with("bounds-tokens", &["--token-requests-per-minute=5", "--max-live-tokens-per-client=2"]);
    let fx = Fixture::new(&server, "tokens");
    let (status, credential) = server.post(
        &format!("{}/scim/credentials", fx.realm_path()),
        fx.admin(),
        &serde_json::json!({"label": "Entra"}),
    );
    assert_eq!(status, 201, "{credential}");
    let basic = STANDARD.encode(format!(
        "{}:{}",
        credential["client_id"].as_str().unwrap(),
        credential["client_secret"].as_str().unwrap()
    ));
    let token_path = format!("/scim/{}/{REALM}/oauth/token", fx.tenant.id);
    let ask = || {
        server.send_raw(
            "POST",
            &token_path,
            Some(&format!("Basic {basic}")),
            Some("application/x-www-form-urlencoded"),
            b"grant_type=client_credentials",
        )
    };
    let users = format!("/scim/{}/{REALM}/v2/Users", fx.tenant.id);
    let works = |token: &str| server.send_raw("GET", &users, Some(&format!("Bearer {token}")), None, b"").status;

    let tokens: Vec<String> = (0..3)
        .map(|_| {
            let reply = ask();
            assert_eq!(reply.status, 200, "{}", reply.text);
            let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
            body["access_token"].as_str().unwrap().to_owned()
        })
        .collect();
    // Two live tokens at most: the oldest went when the third was issued.
    assert_eq!(works(&tokens[0]), 401);
    assert_eq!(works(&tokens[1]), 200);
    assert_eq!(works(&tokens[2]), 200);

    assert_eq!(ask().status, 200);
    assert_eq!(ask().status, 200);
    let refused = ask();
    assert_eq!(refused.status, 429, "the sixth request in a minute: {}", refused.text);
    assert!(refused.body.contains("temporarily_unavailable"), "{}", refused.text);
    retry_after(&refused.head);
    assert_eq!(ask().status, 429);
    // The burst was audited once.
    let limited = audit_actions(&server, &fx.tenant, "auth.rate_limited");
    assert_eq!(limited.len(), 1, "{limited:?}");
    assert_eq!(limited[0]["details"]["what"], "token requests", "{:?}", limited[0]);
}

#[test]
fn refused_requests_are_logged_at_a_bounded_rate_with_paths_cut_short() {
    let server = TestServer::start(Backend::Sqlite, "bounds-refusal-log");
    let long_path = format!("/scim/acme/entra/v2/Users/{}", "x".repeat(30_000));
    let started = std::time::Instant::now();
    for _ in 0..300 {
        let reply = server.send_raw("GET", &long_path, Some("Bearer not-a-token"), None, b"");
        assert_eq!(reply.status, 401, "{}", reply.head);
    }
    let seconds = started.elapsed().as_secs();
    let log = server.log();
    let refusals: Vec<&str> = log.lines().filter(|line| line.contains("SCIM request refused")).collect();
    // Ten lines a second at most (and ten at once), whatever the flood.
    let allowed = 10 + 10 * (seconds as usize + 1);
    assert!(!refusals.is_empty() && refusals.len() <= allowed, "{} lines in {seconds} s", refusals.len());
    assert!(refusals.iter().all(|line| line.len() < 1_000), "paths are cut short: {}", refusals[0]);
    assert!(log.len() < 300_000, "the log grew by {} bytes", log.len());
}

/// A user-rules module that spins until the evaluation's budget ends it.
fn spinning_module() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (memory (export "memory") 1)
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "muster_user_rules") (param i32 i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0)))"#,
    )
    .unwrap()
}

/// The 99th percentile of `latencies`, in milliseconds.
fn p99_ms(latencies: &mut [Duration]) -> f64 {
    latencies.sort();
    let at = (latencies.len() * 99).div_ceil(100).saturating_sub(1);
    latencies[at].as_secs_f64() * 1000.0
}

/// What one noisy-neighbour run measured.
struct NoisyNeighbour {
    /// The quiet tenant's login p99, alone and beside the noisy tenant, in milliseconds.
    alone_p99_ms: f64,
    beside_p99_ms: f64,
    /// The noisy tenant's logins that ran out of budget, and those refused 429.
    noisy_failed: usize,
    noisy_refused: usize,
    /// The server's threads seen running below its main thread's priority while the noisy
    /// tenant ran (the engine's, while demoted).
    demoted_threads_seen: usize,
}

/// A quiet tenant logs in alone, then beside a noisy tenant whose clients (4 per core, plus 4)
/// log in without pause on rules that spin to the evaluation timeout, on a server started with
/// `args`.
fn noisy_neighbour(label: &str, args: &[&str]) -> NoisyNeighbour {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    use serde_json::json;
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    };
    let args: Vec<&str> =
        ["--engine-timeout=100ms", "--engine-fuel=1000000000000"].iter().chain(args).copied().collect();
    let server = server_with(label, &args);
    let quiet = Fixture::new(&server, "quiet");
    let noisy = Tenant::create(&server, "noisy");
    let realm = "/v1/tenants/noisy/realms/entra";
    let (status, body) =
        server.post("/v1/tenants/noisy/realms", Some(&noisy.admin), &json!({"id": "entra", "name": "E"}));
    assert_eq!(status, 201, "{body}");
    let upload = json!({"wasm": STANDARD.encode(spinning_module()), "note": "spins"});
    let (status, body) = server.post(&format!("{realm}/modules/user"), Some(&noisy.admin), &upload);
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.post_empty(&format!("{realm}/modules/user/versions/1/activate"), Some(&noisy.admin));
    assert_eq!(status, 200, "{body}");

    let quiet_logins = |count: usize| -> Vec<Duration> {
        (0..count)
            .map(|_| {
                let started = std::time::Instant::now();
                let (status, body) = quiet.login(&ada_claims());
                assert_eq!(status, 200, "the quiet tenant's logins are unaffected: {body}");
                started.elapsed()
            })
            .collect()
    };
    let mut alone = quiet_logins(100);

    // More clients of the noisy tenant than it has slots log in without pause, each evaluation
    // burning its 100 ms.
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    let stop = Arc::new(AtomicBool::new(false));
    let (busy, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let noisy_clients: Vec<_> = (0..4 * cores + 4)
        .map(|_| {
            let (client, token) = (server.client(), noisy.eval.clone());
            let (stop, busy, failed) = (Arc::clone(&stop), Arc::clone(&busy), Arc::clone(&failed));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (status, body) = client.post(&format!("{realm}/login"), Some(&token), &ada_claims());
                    match status {
                        429 => busy.fetch_add(1, Ordering::Relaxed),
                        422 => failed.fetch_add(1, Ordering::Relaxed),
                        other => panic!("the noisy tenant's login answered {other}: {body}"),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // The quiet tenant's logins, looking at the server's threads every tenth of them.
    let mut beside = Vec::new();
    let mut demoted = std::collections::BTreeSet::new();
    for _ in 0..20 {
        beside.extend(quiet_logins(10));
        let threads = server.threads();
        let main_thread_nice = threads.iter().find(|thread| thread.name == "muster").expect("the main thread").nice;
        demoted.extend(threads.iter().filter(|thread| thread.nice > main_thread_nice).map(|thread| thread.id));
    }
    stop.store(true, Ordering::Relaxed);
    for client in noisy_clients {
        client.join().unwrap();
    }
    NoisyNeighbour {
        alone_p99_ms: p99_ms(&mut alone),
        beside_p99_ms: p99_ms(&mut beside),
        noisy_failed: failed.load(Ordering::Relaxed),
        noisy_refused: busy.load(Ordering::Relaxed),
        demoted_threads_seen: demoted.len(),
    }
}

#[test]
fn a_tenant_whose_rules_burn_their_budget_holds_only_its_share_of_the_engine() {
    // Both runs on the default share (all cores but one); the first with long engine work
    // demoted (the default), the second without.
    let demoting = noisy_neighbour("bounds-noisy-neighbour", &[]);
    let not_demoting = noisy_neighbour("bounds-noisy-neighbour-off", &["--demote-engine-work-after=off"]);
    for (run, figures) in [("long engine work demoted (default)", &demoting), ("never demoted", &not_demoting)] {
        eprintln!(
            "{run}: quiet tenant login p99 {:.1} ms alone, {:.1} ms beside the noisy one \
             ({} noisy logins ran out of budget, {} were refused 429; {} demoted threads seen)",
            figures.alone_p99_ms,
            figures.beside_p99_ms,
            figures.noisy_failed,
            figures.noisy_refused,
            figures.demoted_threads_seen
        );
        assert!(figures.noisy_failed > 0, "the noisy tenant's rules ran");
        assert!(figures.noisy_refused > 0, "the noisy tenant was held to its share of the engine");
    }
    assert!(demoting.demoted_threads_seen > 0, "the noisy tenant's spinning evaluations were demoted");
    assert_eq!(not_demoting.demoted_threads_seen, 0, "with --demote-engine-work-after=off nothing is demoted");
}

#[test]
fn a_token_request_with_a_wrong_basic_secret_is_refused_before_its_body_is_read() {
    let server = TestServer::start(Backend::Sqlite, "bounds-token-basic");
    let fx = Fixture::new(&server, "basic");
    let mut stream = connect(&server);
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // `sc_nobody:wrong`, and a body announced but never sent: the answer cannot wait for it.
    let head = format!(
        "POST /scim/{}/{REALM}/oauth/token HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Basic c2Nfbm9ib2R5Ondyb25n\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\n",
        fx.tenant.id, server.port
    );
    stream.write_all(head.as_bytes()).unwrap();
    let answer = read_answer(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("invalid_client"), "{answer}");
}
