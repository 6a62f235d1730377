//! The real `muster serve` binary as a test fixture: started on a free loopback port with a
//! scratch data directory (and, for PostgreSQL, a fresh database), waited for until `/healthz`
//! answers, killed when dropped; plus a small blocking HTTP client returning `(status, JSON)`.
//!
//! PostgreSQL databases come from the store suite's helper (`support/db.rs`): the including test
//! crate must declare `mod support;` and `#[path = "support/db.rs"] mod db;`.

#![allow(dead_code, reason = "Each test binary uses a different subset.")]

use std::{
    fs::File,
    net::TcpListener,
    ops::Deref,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::db::TestDb;

/// The operator token every test server is started with.
pub const OPERATOR_TOKEN: &str = "operator-token-for-tests";

/// How long a server may take to answer `/healthz` after it is spawned.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(40);

/// Which store a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite file in the data directory.
    Sqlite,
    /// A fresh PostgreSQL database (`--database-url`).
    Postgres,
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// `--data-dir` (SQLite file and compiled-module cache).
    pub data_dir: PathBuf,
    /// Where the server's log files go: an existing directory (`data_dir`, unless a test wants the
    /// server to create its data directory itself).
    pub log_dir: PathBuf,
    /// `--database-url`, kept alive as long as any server uses it.
    pub database: Option<Arc<TestDatabase>>,
    /// More arguments after `serve …`.
    pub args: Vec<String>,
}

impl ServerOptions {
    /// A fresh data directory and, for PostgreSQL, a fresh database.
    pub fn fresh(backend: Backend, label: &str) -> ServerOptions {
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(Arc::new(TestDatabase::create())),
        };
        let data_dir = crate::support::scratch_dir(label);
        ServerOptions { log_dir: data_dir.clone(), data_dir, database, args: Vec::new() }
    }

    /// The same store, with a data directory of its own (another host on the same PostgreSQL
    /// database).
    pub fn another_host(&self, label: &str) -> ServerOptions {
        let data_dir = crate::support::scratch_dir(label);
        ServerOptions { log_dir: data_dir.clone(), data_dir, database: self.database.clone(), args: self.args.clone() }
    }
}

/// A fresh, **empty** PostgreSQL database for servers to share, dropped (with any connections
/// left) when the last server using it is gone.
///
/// Made by [`TestDb::postgres`], which also migrates it through an in-process store; that schema
/// is dropped again so the server under test migrates an empty database itself, as it would on
/// its first start.
pub struct TestDatabase {
    /// `postgres://…/<name>`.
    pub url: String,
    db: Option<TestDb>,
    runtime: tokio::runtime::Runtime,
}

impl TestDatabase {
    /// Creates the database (failing the test with a clear message if PostgreSQL is unreachable).
    pub fn create() -> TestDatabase {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let db = runtime.block_on(async {
            let db = TestDb::postgres().await;
            db.store.close().await;
            let mut raw = db.raw().await;
            for statement in ["DROP SCHEMA public CASCADE", "CREATE SCHEMA public"] {
                sqlx::query(statement).execute(&mut raw).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
            }
            let _ = sqlx::Connection::close(raw).await;
            db
        });
        TestDatabase { url: db.url.clone(), db: Some(db), runtime }
    }
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // The store's pool was made in this runtime: drop it inside it.
        let _inside = self.runtime.enter();
        drop(self.db.take());
    }
}

/// A running `muster serve`, killed (SIGKILL) when dropped.
pub struct TestServer {
    child: Option<Child>,
    options: ServerOptions,
    client: Client,
    /// The port it listens on.
    pub port: u16,
}

/// One thread of a running server ([`TestServer::threads`]).
#[derive(Debug, Clone)]
pub struct ServerThread {
    /// Its thread id.
    pub id: u64,
    /// Its name (`tokio-runtime-w…`, `sqlx-sqlite-w…`).
    pub name: String,
    /// Its nice value.
    pub nice: i32,
}

/// A blocking HTTP client bound to one server; cheap to clone and usable from other threads.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    log: Arc<PathBuf>,
}

/// A request body.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// No body.
    None,
    /// JSON, with `Content-Type: application/json`.
    Json(&'a Value),
    /// These bytes, with this `Content-Type` (or none).
    Raw(&'a [u8], Option<&'a str>),
}

/// A response: status, `Content-Type`, text, and the text parsed as JSON (`Null` when empty,
/// a JSON string of the text when it is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body as text.
    pub text: String,
    /// The body as JSON.
    pub json: Value,
}

/// An answer read off the wire by [`Client::send_raw`].
#[derive(Debug, Clone)]
pub struct RawReply {
    /// HTTP status.
    pub status: u16,
    /// The status line and headers.
    pub head: String,
    /// The body.
    pub body: String,
    /// Everything, for messages.
    pub text: String,
}

impl TestServer {
    /// A server on a fresh store of `backend`.
    pub fn start(backend: Backend, label: &str) -> TestServer {
        TestServer::start_with(ServerOptions::fresh(backend, label))
    }

    /// A server with `options`, waited for until `/healthz` answers 200.
    pub fn start_with(options: ServerOptions) -> TestServer {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let mut last_failure = String::new();
        // The free port is found by binding port 0 and releasing it; another process may take it
        // before the server binds it, so a failed bind is retried on a new port.
        for _attempt in 0..3 {
            let port = free_port();
            let log = options.log_dir.join(format!("server-{}-{port}.log", NEXT.fetch_add(1, Ordering::Relaxed)));
            let log_file = File::create(&log).expect("create the server log file");
            let mut command = Command::new(env!("CARGO_BIN_EXE_muster"));
            command
                .arg("serve")
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--data-dir")
                .arg(&options.data_dir);
            if let Some(database) = &options.database {
                command.arg("--database-url").arg(&database.url);
            }
            command
                .args(&options.args)
                .env("MUSTER_OPERATOR_TOKEN", OPERATOR_TOKEN)
                // Every test client is 127.0.0.1: the rate limits per address would count a whole
                // suite's deliberate failures as one client's. Tests of the limits set them by flag.
                .env("MUSTER_AUTH_FAILURES_PER_MINUTE", "1000000")
                .env("MUSTER_TOKEN_REQUESTS_PER_MINUTE", "1000000")
                // Tests compile modules side by side on a shared machine: the 1.4 MB js-rules
                // module takes ~4 s of CPU alone, so the 10 s default would fail under load.
                .env("MUSTER_ENGINE_COMPILE_TIMEOUT", "60s")
                .env_remove("MUSTER_DATABASE_URL")
                .env_remove("MUSTER_DATA_DIR")
                .env_remove("MUSTER_LISTEN")
                .env("RUST_LOG", std::env::var("MUSTER_TEST_LOG").unwrap_or_else(|_| "info".into()))
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("clone the log file"))
                .stderr(log_file);
            let child = command.spawn().expect("spawn muster serve");
            let client = Client::new(format!("http://127.0.0.1:{port}"), log);
            let mut server = TestServer { child: Some(child), options: options.clone(), client, port };
            match server.wait_healthy() {
                Ok(()) => return server,
                Err(failure) if failure.contains("cannot listen") => last_failure = failure,
                Err(failure) => panic!("{failure}"),
            }
        }
        panic!("{last_failure}");
    }

    fn wait_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let probe = Client {
            agent: agent(Duration::from_secs(2)),
            base: self.client.base.clone(),
            log: Arc::clone(&self.client.log),
        };
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                return Err(format!(
                    "muster serve exited with {status} before answering /healthz; its log:\n{}",
                    self.log()
                ));
            }
            if probe.try_call("GET", "/healthz", None, Body::None).is_ok_and(|reply| reply.status == 200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(format!(
                    "muster serve did not answer GET /healthz with 200 within {STARTUP_TIMEOUT:?}; its log:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A client of this server, to hand to other threads.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// How this server was started (to restart it, or start another host on the same store).
    pub fn options(&self) -> &ServerOptions {
        &self.options
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.options.data_dir
    }

    /// Kills the server with SIGKILL (no graceful shutdown) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL on Unix
            let _ = child.wait();
        }
    }

    /// The server's peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("read /proc/PID/status");
        let kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmHWM in /proc/PID/status");
        kib * 1024
    }

    /// The CPU time the server has used so far (user and system), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("read /proc/PID/stat");
        // Fields after the command name (which is in parentheses and may hold spaces): state is
        // the 3rd field of the line, utime the 14th, stime the 15th.
        let after_name = &stat[stat.rfind(')').expect("a command name") + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // The kernel's USER_HZ is 100 on every Linux this runs on.
        ticks as f64 / 100.0
    }

    /// Each thread of the server: its id, name and nice value, from `/proc/PID/task`.
    pub fn threads(&self) -> Vec<ServerThread> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid())).expect("read /proc/PID/task");
        tasks
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("stat")).ok())
            .map(|stat| {
                let name = stat[stat.find('(').expect("a name") + 1..stat.rfind(')').expect("a name")].to_owned();
                // After the name: state is field 3 of the line, nice 19.
                let fields: Vec<&str> = stat[stat.rfind(')').expect("a name") + 2..].split_whitespace().collect();
                let id = stat[..stat.find(' ').expect("an id")].parse().unwrap();
                ServerThread { id, name, nice: fields[16].parse().unwrap() }
            })
            .collect()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }
}

impl Deref for TestServer {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- log of the muster server at {} ---\n{}", self.client.base, self.log());
        }
    }
}

/// An HTTP client that opens a fresh connection per request. A pooled keep-alive connection
/// that the server closes just as the client reuses it made a request fail with "peer
/// disconnected" about once in twenty runs (a race any HTTP client has to retry; ureq does not
/// retry POSTs); the tests assert the server's answers, not connection reuse.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_idle_connections(0)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .build()
        .new_agent()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl Client {
    fn new(base: String, log: PathBuf) -> Client {
        Client { agent: agent(Duration::from_secs(120)), base, log: Arc::new(log) }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The server's log so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&*self.log).unwrap_or_else(|e| format!("(cannot read {}: {e})", self.log.display()))
    }

    /// Sends a request; transport failures are errors (a killed server, …).
    pub fn try_call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Body<'_>,
    ) -> Result<Reply, ureq::Error> {
        let authorization = token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = authorization.iter().map(|value| ("authorization", value.as_str())).collect();
        self.try_call_with_headers(method, path, &headers, body)
    }

    /// Sends a request with these extra headers.
    pub fn try_call_with_headers(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Reply, ureq::Error> {
        let mut builder = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = match body {
            Body::None => self.agent.run(builder.body(()).expect("a valid request"))?,
            Body::Json(value) => {
                let bytes = serde_json::to_vec(value).expect("serialize the body");
                self.agent
                    .run(builder.header("content-type", "application/json").body(bytes).expect("a valid request"))?
            }
            Body::Raw(bytes, content_type) => {
                if let Some(content_type) = content_type {
                    builder = builder.header("content-type", content_type);
                }
                self.agent.run(builder.body(bytes.to_vec()).expect("a valid request"))?
            }
        };
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response.into_body().with_config().limit(64 << 20).read_to_string()?;
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
        };
        Ok(Reply { status, content_type, text, json })
    }

    /// Sends a request over a fresh connection, byte for byte, and reads the answer even when the
    /// server answers before reading the whole body (an oversized body): a failed write is
    /// expected then. Panics if no HTTP response comes back or it is a 5xx or chunked.
    pub fn send_raw(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> RawReply {
        let address = self.url().trim_start_matches("http://").to_owned();
        let mut headers = vec![("Host", address.as_str())];
        headers.extend(content_type.map(|content_type| ("Content-Type", content_type)));
        headers.extend(authorization.map(|authorization| ("Authorization", authorization)));
        self.send_raw_with_headers(method, path, &headers, body)
    }

    /// [`Client::send_raw`] with exactly these headers (and `Content-Length`, `Connection:
    /// close`): no `Host` unless `headers` has one, or several.
    pub fn send_raw_with_headers(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> RawReply {
        use std::io::{Read, Write};
        let address = self.url().trim_start_matches("http://").to_owned();
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("set a read timeout");
        let mut head = format!("{method} {path} HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send the request head");
        let _ = stream.write_all(body);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            panic!("{method} {path}: no HTTP response: {text:?}\n--- server log ---\n{}", self.log())
        });
        assert!(status < 500, "{method} {path} answered {status}: {text}\n--- server log ---\n{}", self.log());
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{method} {path}: {text}");
        RawReply { status, head: head.to_owned(), body: body.to_owned(), text: text.clone() }
    }

    /// Sends a request; panics on a transport failure or a 5xx (the server must never answer
    /// one), with the server's log.
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Body<'_>) -> Reply {
        let reply = self
            .try_call(method, path, token, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n--- server log ---\n{}", self.log()));
        assert!(
            reply.status < 500,
            "{method} {path} answered {}: {}\n--- server log ---\n{}",
            reply.status,
            reply.text,
            self.log()
        );
        reply
    }

    /// [`Client::call`] with these extra headers.
    pub fn call_with_headers(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Body<'_>) -> Reply {
        let reply = self
            .try_call_with_headers(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n--- server log ---\n{}", self.log()));
        assert!(
            reply.status < 500,
            "{method} {path} answered {}: {}\n--- server log ---\n{}",
            reply.status,
            reply.text,
            self.log()
        );
        reply
    }

    /// `GET`.
    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let reply = self.call("GET", path, token, Body::None);
        (reply.status, reply.json)
    }

    /// `POST` with a JSON body.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let reply = self.call("POST", path, token, Body::Json(body));
        (reply.status, reply.json)
    }

    /// `POST` without a body.
    pub fn post_empty(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let reply = self.call("POST", path, token, Body::None);
        (reply.status, reply.json)
    }

    /// `PUT` with a JSON body.
    pub fn put(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let reply = self.call("PUT", path, token, Body::Json(body));
        (reply.status, reply.json)
    }

    /// `PATCH` with a JSON body.
    pub fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let reply = self.call("PATCH", path, token, Body::Json(body));
        (reply.status, reply.json)
    }

    /// `DELETE`.
    pub fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let reply = self.call("DELETE", path, token, Body::None);
        (reply.status, reply.json)
    }
}

// ---------------------------------------------------------------------------------------------
// The server in-process, through `muster::server::run`.

/// A server started in this process by [`muster::server::run`] on a `127.0.0.1:0` listener, with
/// a scratch data directory (the embedded store) and [`OPERATOR_TOKEN`], on a runtime of its
/// own in a thread of its own. Dropping it shuts it down gracefully, as [`InProcessServer::shutdown`] does.
pub struct InProcessServer {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), muster::server::ServerError>>>,
    client: Client,
    /// The address it listens on.
    pub address: std::net::SocketAddr,
    /// The configuration it was started with.
    pub config: muster::config::Config,
}

impl InProcessServer {
    /// Starts a server with the defaults, a fresh data directory and the test operator token,
    /// changed by `configure`; waits until `/healthz` answers 200.
    pub fn start(label: &str, configure: impl FnOnce(&mut muster::config::Config)) -> InProcessServer {
        let data_dir = crate::support::scratch_dir(label);
        let mut config = muster::config::Config {
            data_dir: data_dir.clone(),
            operator_token: Some(muster::config::Secret::new(OPERATOR_TOKEN)),
            ..muster::config::Config::default()
        };
        configure(&mut config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let address = listener.local_addr().expect("the listener's address");
        let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
        let server_config = config.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for the server");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                muster::server::run(listener, server_config, async {
                    let _ = signal.await;
                })
                .await
            })
        });
        let log = data_dir.join("in-process.log");
        std::fs::write(&log, "(an in-process server: its log goes to this test's tracing subscriber, if any)\n")
            .expect("write the log note");
        let client = Client::new(format!("http://{address}"), log);
        let mut server = InProcessServer { shutdown: Some(shutdown), thread: Some(thread), client, address, config };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let probe = Client {
            agent: agent(Duration::from_secs(2)),
            base: self.client.base.clone(),
            log: Arc::clone(&self.client.log),
        };
        loop {
            if self.thread.as_ref().is_some_and(|thread| thread.is_finished()) {
                let outcome = self.join();
                panic!("the in-process server stopped before answering /healthz: {outcome:?}");
            }
            if probe.try_call("GET", "/healthz", None, Body::None).is_ok_and(|reply| reply.status == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the in-process server did not answer GET /healthz within {STARTUP_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A client of this server, to hand to other threads.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Asks the server to shut down, waits for it, and returns what `run` returned.
    pub fn shutdown(mut self) -> Result<(), muster::server::ServerError> {
        self.join()
    }

    fn join(&mut self) -> Result<(), muster::server::ServerError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let Some(thread) = self.thread.take() else { return Ok(()) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !thread.is_finished() {
            assert!(Instant::now() < deadline, "the in-process server did not stop within 30 s of its shutdown signal");
            std::thread::sleep(Duration::from_millis(20));
        }
        match thread.join() {
            Ok(result) => result,
            Err(_) => panic!("the in-process server panicked"),
        }
    }
}

impl Deref for InProcessServer {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Signal a stop without waiting on a server that may be the reason for the panic.
            drop(self.shutdown.take());
            return;
        }
        if let Err(error) = self.join() {
            panic!("the in-process server stopped with an error: {error}");
        }
    }
}
