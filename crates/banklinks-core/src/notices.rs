//! What deserves an OS notification: a consent reaching a reminder point (14, 7, 3, 1 days) and a
//! connection that newly needs the user. Each notice has a key, and a key is notified once ever
//! (the journal remembers), so a restart or a second poll does not repeat it.

use std::collections::HashSet;

use serde::Serialize;

use crate::flows::ConnectionView;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// Once per key, ever.
    pub key: String,
    pub connection_id: String,
    pub title: String,
    pub body: String,
}

/// The notices due for `views` that are not in `already`.
pub fn due(views: &[ConnectionView], already: &HashSet<String>) -> Vec<Notice> {
    let mut notices = Vec::new();
    for view in views {
        let connection = &view.connection;
        // The one "needs you" rule the tray and the dashboard count; a consent that is only
        // ending is told by its reminders instead.
        let consent_is_the_news = view
            .health
            .consent
            .as_ref()
            .is_some_and(|consent| consent.text == view.health.headline);
        if view.health.needs_you && !consent_is_the_news {
            // Keyed by headline too: a different problem later is news again.
            let key = format!("attention:{}:{}", connection.id, view.health.headline);
            if !already.contains(&key) {
                notices.push(Notice {
                    key,
                    connection_id: connection.id.clone(),
                    title: format!("{} needs you", connection.name),
                    body: view.health.headline.clone(),
                });
            }
            continue;
        }
        if let Some(consent) = view.health.consent.as_ref() {
            let Some(point) = consent.reminder else {
                continue;
            };
            // Keyed by the expiry it warns about, so a renewed consent gets its own reminders.
            let expiry = consent.ends_at.format("%Y-%m-%d");
            let key = format!("consent:{}:{expiry}:{point}", connection.id);
            if !already.contains(&key) {
                notices.push(Notice {
                    key,
                    connection_id: connection.id.clone(),
                    title: format!("{}: consent ends soon", connection.name),
                    // The card's own line, so the two never name different days.
                    body: format!("{}. Renew it to keep your data updating.", consent.text),
                });
            }
        }
    }
    notices
}
