//! Who may drive the admin API. It moves the clock, resets the world and registers clients, so a
//! web page the person happens to have open must not reach it: a browser sends a cross-origin
//! `text/plain` POST without asking first, and a rebound DNS name reaches a loopback port under
//! a foreign `Host`. So a request is refused unless
//!
//! - its `Host` is the sandbox's own host or a loopback name (defeats DNS rebinding);
//! - it carries no `Origin` other than the sandbox's own, and no `Sec-Fetch-Site: cross-site`;
//! - a request that changes anything says `Content-Type: application/json`, which a page can
//!   only send after a CORS preflight the sandbox never grants.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::Shared;

pub async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    match refusal(&shared.base_url, request.method(), request.headers()) {
        Some(refused) => refused.into_response(),
        None => next.run(request).await,
    }
}

/// Why a request to the admin API is refused, if it is.
pub fn refusal(base_url: &str, method: &Method, headers: &HeaderMap) -> Option<ApiError> {
    let forbidden = |why: &str| Some(ApiError::new(StatusCode::FORBIDDEN, "Forbidden", why));
    // Fails closed: without its own address the sandbox cannot tell who is asking.
    let Ok(own) = url::Url::parse(base_url) else {
        return forbidden("the sandbox does not know its own address");
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| url::Url::parse(&format!("http://{value}")).ok())
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase));
    let host_allowed = host.as_deref().is_some_and(|host| {
        matches!(host, "localhost" | "127.0.0.1" | "[::1]") || Some(host) == own.host_str()
    });
    if !host_allowed {
        return forbidden("the admin API answers only on the sandbox's own or a loopback host");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same = origin
            .to_str()
            .ok()
            .and_then(|text| url::Url::parse(text).ok())
            .is_some_and(|origin| origin.origin() == own.origin());
        if !same {
            return forbidden("the admin API does not answer other sites");
        }
    }
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    {
        return forbidden("the admin API does not answer other sites");
    }
    let changes_something = !matches!(*method, Method::GET | Method::HEAD);
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if changes_something && !json {
        return Some(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "admin requests that change something must be Content-Type: application/json",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const BASE: &str = "http://127.0.0.1:8460";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_loopback_hosts_same_origin_json_requests_get_through() {
        let ok = |method: Method, pairs| refusal(BASE, &method, &headers(pairs)).is_none();
        assert!(ok(Method::GET, &[("host", "127.0.0.1:8460")]));
        assert!(ok(Method::GET, &[("host", "localhost:8460")]));
        assert!(ok(
            Method::POST,
            &[("host", "[::1]:8460"), ("content-type", "application/json")]
        ));
        assert!(ok(
            Method::POST,
            &[
                ("host", "127.0.0.1:8460"),
                ("origin", "http://127.0.0.1:8460"),
                ("content-type", "Application/JSON; charset=utf-8"),
            ]
        ));
        // DNS rebinding: a foreign name pointing at the loopback port.
        assert!(!ok(Method::GET, &[("host", "attacker.example:8460")]));
        assert!(!ok(Method::GET, &[]));
        assert!(
            refusal(
                "not a url",
                &Method::GET,
                &headers(&[("host", "localhost")])
            )
            .is_some()
        );
        // A page's simple request: no preflight for text/plain.
        assert!(!ok(
            Method::POST,
            &[("host", "127.0.0.1:8460"), ("content-type", "text/plain")]
        ));
        assert!(!ok(Method::POST, &[("host", "127.0.0.1:8460")]));
        assert!(!ok(
            Method::POST,
            &[
                ("host", "127.0.0.1:8460"),
                ("origin", "http://127.0.0.1:9999"),
                ("content-type", "application/json"),
            ]
        ));
        assert!(!ok(
            Method::POST,
            &[
                ("host", "127.0.0.1:8460"),
                ("origin", "null"),
                ("content-type", "application/json"),
            ]
        ));
        assert!(!ok(
            Method::GET,
            &[("host", "127.0.0.1:8460"), ("sec-fetch-site", "cross-site")]
        ));
    }
}
