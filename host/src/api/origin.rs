//! Where the absolute URLs the server writes (SCIM `meta.location` and `$ref`, a SCIM client's
//! `token_url` and `scim_url`) point: never anything a client chose beyond a host name.
//!
//! With `public_url` configured, every such URL starts with it and the request's `Host` and
//! `X-Forwarded-Proto` are ignored (behind a proxy or a load balancer they are often internal
//! values, and nothing of the request can end up in a URL). Without it (local use), the URL is
//! `<X-Forwarded-Proto or http>://<Host>`, and only if the two are harmless: the scheme `http`
//! or `https`, and a host name or IP address with an optional port
//! ([`crate::config::is_authority`]). Anything else (`javascript`, `evil.example/path`,
//! `user@host`, a repeated header) is refused with a 400, never written into a URL.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, header, request::Parts},
};

use super::error::ApiError;
use crate::{
    config::{PublicUrl, is_authority},
    service::SharedState,
};

/// The header a TLS-terminating proxy names the client's scheme in.
const FORWARDED_PROTO: &str = "x-forwarded-proto";

/// The base every absolute URL of a request's answer starts with: `scheme://authority` and, from
/// `public_url`, its path prefix; no trailing `/`.
pub fn base_url(public_url: Option<&PublicUrl>, headers: &HeaderMap) -> Result<String, String> {
    if let Some(public_url) = public_url {
        return Ok(public_url.as_str().to_owned());
    }
    let host = match single(headers, header::HOST.as_str())? {
        Some(host) if is_authority(host) => host,
        Some(_) => {
            return Err("the Host header is not a host name or IP address with an optional port \
                        (configure public_url to have the server write its own)"
                .into());
        }
        None => "localhost",
    };
    let scheme = match single(headers, FORWARDED_PROTO)? {
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => "https",
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => "http",
        Some(_) => return Err("X-Forwarded-Proto must be http or https".into()),
        None => "http",
    };
    Ok(format!("{scheme}://{host}"))
}

/// The value of header `name`, if it is present once; a repeated header, or one that is not
/// visible ASCII, is refused.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, String> {
    let mut values = headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match headers.contains_key(name) {
            true => Err(format!("the {name} header is repeated")),
            false => Ok(None),
        };
    };
    value.to_str().map(|value| Some(value.trim())).map_err(|_| format!("the {name} header is not readable text"))
}

/// [`base_url`] of the request, as an extractor of the JSON API (a refusal is a 400).
pub struct BaseUrl(pub String);

impl FromRequestParts<SharedState> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        base_url(state.config.public_url.as_ref(), &parts.headers).map(BaseUrl).map_err(ApiError::BadRequest)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn the_request_names_the_host_and_scheme_only_when_they_are_harmless() {
        let base = |pairs| base_url(None, &headers(pairs));
        assert_eq!(base(&[]).unwrap(), "http://localhost");
        assert_eq!(base(&[("host", "muster.example:8443")]).unwrap(), "http://muster.example:8443");
        assert_eq!(
            base(&[("host", "10.0.0.5"), ("x-forwarded-proto", "HTTPS")]).unwrap(),
            "https://10.0.0.5",
            "a scheme in any case"
        );
        for hostile in [
            &[("host", "evil.example/x")][..],
            &[("host", "evil.example?")],
            &[("host", "user@evil.example")],
            &[("host", "evil example")],
            &[("host", "")],
            &[("host", "a.example"), ("host", "b.example")],
            &[("host", "ok.example"), ("x-forwarded-proto", "javascript")],
            &[("host", "ok.example"), ("x-forwarded-proto", "https://evil.example/")],
            &[("host", "ok.example"), ("x-forwarded-proto", "https, http")],
            &[("host", "ok.example"), ("x-forwarded-proto", "http"), ("x-forwarded-proto", "https")],
        ] {
            assert!(base(hostile).is_err(), "{hostile:?} is refused");
        }
    }

    #[test]
    fn a_public_url_is_all_there_is() {
        let public = PublicUrl::parse("https://muster.example.com/base/").unwrap();
        let hostile = headers(&[("host", "evil.example/x"), ("x-forwarded-proto", "javascript")]);
        assert_eq!(base_url(Some(&public), &hostile).unwrap(), "https://muster.example.com/base");
        assert_eq!(base_url(Some(&public), &HeaderMap::new()).unwrap(), "https://muster.example.com/base");
    }
}
