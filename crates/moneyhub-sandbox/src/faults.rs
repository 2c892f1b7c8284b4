//! Fault injection for the admin API: per path prefix, add latency, fail a share of requests
//! with a status (429 with `Retry-After`, 500/502/503), or answer 200 with a malformed body.
//! A rule may be limited to a number of requests. This is the middleware that applies them; the
//! rules and the choice of which request they hit are shared state (`state/fault_rules.rs`).

use std::sync::Arc;
use std::time::Duration;

use crate::clock::lock;
use crate::error::ApiError;
use crate::state::{Effect, Shared};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn inject(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/__sandbox") {
        return next.run(request).await;
    }
    let effect = lock(&shared.faults).pick(&path);
    match effect {
        Effect::Pass => next.run(request).await,
        Effect::Delay(latency, rule) => {
            if latency > 0 {
                tokio::time::sleep(Duration::from_millis(latency.min(120_000))).await;
            }
            match rule {
                None => next.run(request).await,
                Some(rule) if rule.drop => {
                    let broken = futures_util::stream::iter([
                        Ok(axum::body::Bytes::from_static(b"{\"data\": [")),
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "injected drop",
                        )),
                    ]);
                    (
                        StatusCode::OK,
                        [("content-type", "application/json")],
                        Body::from_stream(broken),
                    )
                        .into_response()
                }
                Some(rule) if rule.malformed => (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    Body::from("{\"data\": [tru"),
                )
                    .into_response(),
                Some(rule) => {
                    if rule.after_handling {
                        drop(next.run(request).await);
                    }
                    let status = rule
                        .status
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    match status {
                        StatusCode::TOO_MANY_REQUESTS => {
                            ApiError::too_many_requests(30).into_response()
                        }
                        status if status.is_server_error() => ApiError::external_provider(
                            status,
                            "Injected fault: the provider did not answer",
                        )
                        .into_response(),
                        status => {
                            ApiError::new(status, "InjectedFault", "Injected fault").into_response()
                        }
                    }
                }
            }
        }
    }
}
