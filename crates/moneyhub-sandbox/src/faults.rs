//! Fault injection for the admin API: per path prefix, add latency, fail a share of requests
//! with a status (429 with `Retry-After`, 500/502/503), or answer 200 with a malformed body.
//! A rule may be limited to a number of requests.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::clock::lock;
use crate::error::ApiError;
use crate::server::Shared;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Applies to paths starting with this (e.g. `/v3/transactions`, `/oidc/token`).
    pub path_prefix: String,
    #[serde(default)]
    pub latency_ms: u64,
    /// HTTP status to answer with instead of the real one.
    #[serde(default)]
    pub status: Option<u16>,
    /// Answer 200 with a body that is not JSON.
    #[serde(default)]
    pub malformed: bool,
    /// Start a response and break the connection mid-body, as a dropped connection looks to
    /// the client.
    #[serde(default)]
    pub drop: bool,
    /// Share of matching requests affected, 0.0–1.0 (default all).
    #[serde(default = "always")]
    pub rate: f64,
    /// Stop after this many affected requests.
    #[serde(default)]
    pub times: Option<u32>,
}

fn always() -> f64 {
    1.0
}

#[derive(Debug, Default)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
    counter: u64,
}

enum Effect {
    Pass,
    Delay(u64, Option<FaultRule>),
}

impl Faults {
    fn pick(&mut self, path: &str) -> Effect {
        self.counter = self.counter.wrapping_add(1);
        let counter = self.counter;
        let Some(index) = self
            .rules
            .iter()
            .position(|rule| path.starts_with(&rule.path_prefix))
        else {
            return Effect::Pass;
        };
        let rule = &mut self.rules[index];
        // Deterministic sampling: every n-th request for a rate of 1/n.
        let affected =
            rule.rate >= 1.0 || ((counter as f64 * rule.rate).fract() + rule.rate >= 1.0);
        if !affected {
            return Effect::Pass;
        }
        let picked = rule.clone();
        if let Some(times) = &mut rule.times {
            *times = times.saturating_sub(1);
            if *times == 0 {
                self.rules.remove(index);
            }
        }
        let acts = picked.status.is_some() || picked.malformed || picked.drop;
        Effect::Delay(picked.latency_ms, acts.then_some(picked))
    }
}

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
