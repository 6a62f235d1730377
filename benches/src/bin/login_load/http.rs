//! A minimal HTTP/1.1 client: one keep-alive connection per [`Connection`], requests built by
//! [`Target`]. Bare hyper, so the generator adds as little as possible to what it measures.

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{
    Method, Request, StatusCode, Uri,
    client::conn::http1::{self, SendRequest},
    header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST, HeaderValue},
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A request or connection that failed before an HTTP answer arrived.
#[derive(Debug)]
pub struct Failure {
    /// What failed: `connect`, `request` or `response body` (the error report groups by it).
    pub kind: &'static str,
    /// The error, for people.
    pub detail: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for Failure {}

impl Failure {
    fn new(kind: &'static str, error: impl std::fmt::Display) -> Self {
        Failure { kind, detail: error.to_string() }
    }
}

/// The server: where to connect and how to address it.
#[derive(Clone)]
pub struct Target {
    /// `host:port` to connect to.
    authority: String,
    /// The `Host` header.
    host: HeaderValue,
    /// The URL's path, without a trailing slash (usually empty).
    base_path: String,
}

impl Target {
    /// Parses a plain-HTTP base URL such as `http://127.0.0.1:8080`.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let uri: Uri = url.parse().with_context(|| format!("not a URL: {url}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("only plain http:// URLs are supported: {url}");
        }
        let authority = uri.authority().with_context(|| format!("no host in {url}"))?;
        Ok(Target {
            authority: format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(80)),
            host: HeaderValue::from_str(authority.as_str())?,
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The request-target for `path` (which starts with `/`).
    pub fn uri(&self, path: &str) -> anyhow::Result<Uri> {
        let full = format!("{}{path}", self.base_path);
        full.parse().with_context(|| format!("not a valid path: {full}"))
    }

    /// A request with a bearer token; a non-empty body is sent as JSON.
    pub fn request(&self, method: Method, uri: Uri, authorization: &HeaderValue, body: Bytes) -> Request<Full<Bytes>> {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(HOST, self.host.clone())
            .header(AUTHORIZATION, authorization.clone());
        if !body.is_empty() {
            builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        builder.body(Full::new(body)).expect("method, URI and headers are valid")
    }

    /// Opens a keep-alive connection (with `TCP_NODELAY`, as servers and real clients use).
    pub async fn connect(&self) -> Result<Connection, Failure> {
        let stream = TcpStream::connect(&self.authority).await.map_err(|e| Failure::new("connect", e))?;
        stream.set_nodelay(true).map_err(|e| Failure::new("connect", e))?;
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream)).await.map_err(|e| Failure::new("connect", e))?;
        // Drives the socket; ends when the sender is dropped or the server closes.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Connection { sender, closing: false })
    }
}

/// `"Bearer <token>"` for the token in `path` (surrounding whitespace ignored).
pub fn bearer_from_file(path: &std::path::Path) -> anyhow::Result<HeaderValue> {
    let token =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the token file {}", path.display()))?;
    HeaderValue::from_str(&format!("Bearer {}", token.trim()))
        .with_context(|| format!("the token in {} is not a valid header value", path.display()))
}

/// One keep-alive HTTP/1.1 connection; requests on it go one at a time.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    /// The last answer said `Connection: close` (the server's limit of requests per connection).
    closing: bool,
}

impl Connection {
    /// Sends `request` and reads the whole answer. After a failure the connection is unusable.
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), Failure> {
        self.sender.ready().await.map_err(|e| Failure::new("request", e))?;
        let response = self.sender.send_request(request).await.map_err(|e| Failure::new("request", e))?;
        let status = response.status();
        self.closing = response
            .headers()
            .get(CONNECTION)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.eq_ignore_ascii_case("close"));
        let body = response.into_body().collect().await.map_err(|e| Failure::new("response body", e))?.to_bytes();
        Ok((status, body))
    }

    /// Whether the server closes the connection after the last answer: open another.
    pub fn is_closing(&self) -> bool {
        self.closing
    }
}
