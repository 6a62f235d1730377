//! `GET /console`: the admin console, a single-page app built from `host/console/` and embedded
//! in the binary at build time (`host/build.rs`).
//!
//! The console is a client of the documented API: its pages call `/v1/…` with the admin key the
//! person signs in with, so these routes need no credentials themselves and serve only static
//! files. Every answer carries a strict Content-Security-Policy: scripts, styles and API calls
//! from this origin only, no inline script, no framing. When the binary was built without the
//! console (`cargo build` on a machine without Node), `/console` answers a page that says how to
//! build it.

use axum::{
    Router,
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// A table of console files, as `host/build.rs` writes it: path under `/console/`, bytes.
type Assets = &'static [(&'static str, &'static [u8])];

/// The policy of every console answer: everything from this origin, nothing inline (but the
/// `data:` images the browser's own widgets use), no plugins, no framing, no `<base>`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The console's routes: its page at `/console` and `/console/`, its files under `/console/`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console", get(|| async { page(ASSETS) }))
        .route("/console/", get(|| async { page(ASSETS) }))
        .route("/console/{*path}", get(|Path(path): Path<String>| async move { file(ASSETS, &path) }))
}

/// The console's page, or the "not built" page when the binary carries no console.
fn page(assets: Assets) -> Response {
    match lookup(assets, "index.html") {
        Some(bytes) => respond(StatusCode::OK, "index.html", bytes),
        None => respond(StatusCode::SERVICE_UNAVAILABLE, "index.html", NOT_BUILT.as_bytes()),
    }
}

/// One of the console's files; 404 for any other path.
fn file(assets: Assets, path: &str) -> Response {
    match lookup(assets, path) {
        Some(bytes) => respond(StatusCode::OK, path, bytes),
        None if assets.is_empty() => page(assets),
        None => respond(StatusCode::NOT_FOUND, "404.txt", b"no such console file\n"),
    }
}

fn lookup(assets: Assets, path: &str) -> Option<&'static [u8]> {
    assets.iter().find(|(name, _)| *name == path).map(|(_, bytes)| *bytes)
}

fn respond(status: StatusCode, path: &str, bytes: &'static [u8]) -> Response {
    // Vite names every file under assets/ by its content's hash: those never change. The page
    // itself must be asked again, so a new binary's console is picked up at once.
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    (
        status,
        [
            (header::CONTENT_TYPE, content_type(path)),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response()
}

/// The media type of a console file, by its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "text/plain; charset=utf-8",
    }
}

/// The page of a binary built without the console.
const NOT_BUILT: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Muster console not built</title></head>
<body><h1>The Muster console is not built into this binary</h1>
<p>This <code>muster</code> was built without the console's assets (Node was not run). Build them with
<code>scripts/build-console</code> (it runs <code>npm ci</code> and the console's build in
<code>host/console/</code>), then rebuild and restart <code>muster</code>:
<code>cargo build -p muster</code>. <code>scripts/demo</code> and <code>scripts/test</code> do both.</p>
<p>The HTTP API works without the console: see <a href=\"/openapi.json\">/openapi.json</a>.</p>
</body></html>
";

#[cfg(test)]
mod tests {
    use super::*;

    const BUILT: Assets =
        &[("index.html", b"<!doctype html><title>console</title>"), ("assets/index-abc123.js", b"console.log(1)")];

    fn header_of(response: &Response, name: header::HeaderName) -> &str {
        response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }

    #[test]
    fn the_page_and_its_files_carry_the_policy_and_their_types() {
        let page = page(BUILT);
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(header_of(&page, header::CONTENT_TYPE), "text/html; charset=utf-8");
        assert_eq!(header_of(&page, header::CONTENT_SECURITY_POLICY), CONTENT_SECURITY_POLICY);
        assert_eq!(header_of(&page, header::CACHE_CONTROL), "no-cache");
        let script = file(BUILT, "assets/index-abc123.js");
        assert_eq!(script.status(), StatusCode::OK);
        assert_eq!(header_of(&script, header::CONTENT_TYPE), "text/javascript; charset=utf-8");
        assert_eq!(header_of(&script, header::CONTENT_SECURITY_POLICY), CONTENT_SECURITY_POLICY);
        assert!(header_of(&script, header::CACHE_CONTROL).contains("immutable"));
        assert_eq!(file(BUILT, "assets/other.js").status(), StatusCode::NOT_FOUND);
        assert_eq!(file(BUILT, "../Cargo.toml").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_policy_allows_nothing_inline_and_nothing_foreign() {
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert!(!CONTENT_SECURITY_POLICY.contains("http"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn a_binary_without_the_console_says_how_to_build_it() {
        for response in [page(&[]), file(&[], "assets/index.js")] {
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(header_of(&response, header::CONTENT_TYPE), "text/html; charset=utf-8");
            assert_eq!(header_of(&response, header::CONTENT_SECURITY_POLICY), CONTENT_SECURITY_POLICY);
        }
        assert!(NOT_BUILT.contains("scripts/build-console"));
    }
}
