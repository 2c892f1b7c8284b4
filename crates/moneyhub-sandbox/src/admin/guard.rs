//! Who may drive the admin API. It moves the clock, resets the world and registers clients, so a
//! web page the person happens to have open must not reach it: a browser sends a cross-origin
//! `text/plain` POST without asking first, and a rebound DNS name reaches a loopback port under
//! a foreign `Host`. So a request is refused unless
//!
//! - its `Host` is the sandbox's own host or a loopback name (defeats DNS rebinding; the whole
//!   router checks this too, see [`host_allowed`]);
//! - it carries no `Origin` other than the sandbox's own, and no `Sec-Fetch-Site: cross-site`;
//! - a request that changes anything says `Content-Type: application/json`, which a page can
//!   only send after a CORS preflight the sandbox never grants;
//! - it carries the admin token (`Authorization: Bearer …`) given at start: any local program,
//!   or another user of the machine, can reach a loopback port, but only the one that started
//!   the sandbox knows the token.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::Shared;

pub async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    match refusal(
        &shared.base_url,
        &shared.config.admin_token,
        request.method(),
        request.headers(),
    ) {
        Some(refused) => refused.into_response(),
        None => next.run(request).await,
    }
}

/// A sandbox on a loopback address answers only requests addressed to it by a loopback name or
/// its own: a web page whose DNS name was rebound to 127.0.0.1 reaches the port under a foreign
/// `Host`, and must not read a user's data or mint tokens any more than drive the admin API.
pub async fn host_guard(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    // A browser always names the host it thinks it reaches, so a request without one is not
    // a rebound page (the admin API still requires one).
    let names_a_host = request.headers().contains_key(header::HOST);
    if shared.config.bind.ip().is_loopback()
        && names_a_host
        && !host_allowed(&shared.base_url, request.headers())
    {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "the sandbox answers only on its own or a loopback host",
        )
        .into_response();
    }
    next.run(request).await
}

/// Whether `Host` names the sandbox itself or a loopback name. Fails closed: without its own
/// address the sandbox cannot tell.
pub fn host_allowed(base_url: &str, headers: &HeaderMap) -> bool {
    let Ok(own) = url::Url::parse(base_url) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| url::Url::parse(&format!("http://{value}")).ok())
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase));
    host.as_deref().is_some_and(|host| {
        matches!(host, "localhost" | "127.0.0.1" | "[::1]") || Some(host) == own.host_str()
    })
}

/// Why a request to the admin API is refused, if it is.
pub fn refusal(
    base_url: &str,
    token: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Option<ApiError> {
    let forbidden = |why: &str| Some(ApiError::new(StatusCode::FORBIDDEN, "Forbidden", why));
    let Ok(own) = url::Url::parse(base_url) else {
        return forbidden("the sandbox does not know its own address");
    };
    if !host_allowed(base_url, headers) {
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
    if !carries_token(headers, token) {
        return Some(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "the admin API needs the token its sandbox was started with (Authorization: Bearer …); \
             the standalone sandbox prints it at start",
        ));
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

/// `Authorization: Bearer <token>`, compared in constant time. An empty token is never given.
fn carries_token(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    !token.is_empty()
        && given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |differs, (a, b)| differs | (a ^ b))
            == 0
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

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn only_the_token_holder_gets_through() {
        let with = |authorization: &'static str| {
            let mut map = headers(&[("host", "127.0.0.1:8460")]);
            map.insert(
                header::AUTHORIZATION,
                HeaderValue::from_static(authorization),
            );
            refusal(BASE, TOKEN, &Method::GET, &map).map(|refused| refused.status)
        };
        assert_eq!(with("Bearer 0123456789abcdef0123456789abcdef"), None);
        for wrong in [
            "Bearer 0123456789abcdef0123456789abcdee",
            "Bearer 0123456789abcdef",
            "Bearer ",
            "Basic 0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(with(wrong), Some(StatusCode::UNAUTHORIZED), "{wrong}");
        }
        let none = headers(&[("host", "127.0.0.1:8460")]);
        assert_eq!(
            refusal(BASE, TOKEN, &Method::GET, &none).map(|r| r.status),
            Some(StatusCode::UNAUTHORIZED)
        );
        let mut empty = none.clone();
        empty.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert!(
            refusal(BASE, "", &Method::GET, &empty).is_some(),
            "no empty token"
        );
    }

    #[test]
    fn only_loopback_hosts_same_origin_json_requests_get_through() {
        let ok = |method: Method, pairs| {
            let mut map = headers(pairs);
            map.insert(
                header::AUTHORIZATION,
                HeaderValue::from_static("Bearer 0123456789abcdef0123456789abcdef"),
            );
            refusal(BASE, TOKEN, &method, &map).is_none()
        };
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
                TOKEN,
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
