//! `GET /openapi.json`: the OpenAPI 3.1 description of this API, `docs/openapi.json`.
//!
//! The document is written by hand beside `docs/api.md` and embedded at build time, so a server
//! always describes its own version of the API. `tests/openapi.rs` keeps it honest: every
//! documented operation must be routed, every `$ref` must resolve, and every route of
//! `docs/api.md` must be documented.

use axum::{http::header::CONTENT_TYPE, response::IntoResponse};

/// The document, served as it is written.
const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// Serves the document as `application/json`.
pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    #[test]
    fn the_embedded_document_is_openapi_3_1_describing_this_version() {
        let document: Value = serde_json::from_str(super::DOCUMENT).expect("docs/openapi.json is JSON");
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"), "info.version of docs/openapi.json");
    }
}
