//! Webhook delivery. The world records events as they happen (syncs, new transactions,
//! reminders); after each request this sends them to the configured URL as Moneyhub does: a JSON
//! envelope `{id, eventType, userId, payload}`, one attempt, a 5 s timeout. The latest events are
//! also kept for `GET /__sandbox/webhooks`, so a presenter can see them without a receiver.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::clock::lock;
use crate::state::Shared;

const KEPT: usize = 200;
const TIMEOUT: Duration = Duration::from_secs(5);

pub async fn deliver_after(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    flush(&shared);
    shared.answered.notify_one();
    response
}

/// Sends whatever the world has recorded since the last flush (in the background).
pub fn flush(shared: &Arc<Shared>) {
    let events = std::mem::take(&mut shared.world_as_is().outbox);
    if events.is_empty() {
        return;
    }
    {
        let mut recent = lock(&shared.recent_webhooks);
        for event in &events {
            if recent.len() == KEPT {
                recent.pop_front();
            }
            recent.push_back(event.clone());
        }
    }
    if let Some(url) = shared.config.webhook_url.clone() {
        tokio::spawn(async move {
            let Ok(http) = reqwest::Client::builder().timeout(TIMEOUT).build() else {
                return;
            };
            for event in events {
                // One attempt, like Moneyhub; a failure is logged, not retried.
                match http.post(&url).json(&event).send().await {
                    Ok(answer) if answer.status().is_success() => {}
                    Ok(answer) => {
                        tracing::warn!(status = %answer.status(), event = event.event_type, "webhook refused")
                    }
                    Err(err) => {
                        tracing::warn!(%err, event = event.event_type, "webhook not delivered")
                    }
                }
            }
        });
    }
}
