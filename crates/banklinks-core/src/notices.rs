//! What deserves an OS notification: a consent reaching a reminder point (14, 7, 3, 1 days) and a
//! connection that newly needs the user. Each notice has a key, and a key is notified once ever
//! (the journal remembers), so a restart or a second poll does not repeat it.

use std::collections::HashSet;

use serde::Serialize;

use crate::flows::ConnectionView;
use crate::health::Severity;

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
        if view.health.severity == Severity::Action {
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
        if let (Some(point), Some(days)) =
            (view.health.consent_reminder, view.health.consent_days_left)
        {
            // Keyed by the expiry it warns about, so a renewed consent gets its own reminders.
            let expiry = connection
                .expires_at
                .map(|at| at.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let key = format!("consent:{}:{expiry}:{point}", connection.id);
            if !already.contains(&key) {
                notices.push(Notice {
                    key,
                    connection_id: connection.id.clone(),
                    title: format!("{}: consent ends soon", connection.name),
                    body: match days {
                        0 => "Access ends today. Renew it to keep your data updating.".into(),
                        1 => "Access ends tomorrow. Renew it to keep your data updating.".into(),
                        n => {
                            format!("Access ends in {n} days. Renew it to keep your data updating.")
                        }
                    },
                });
            }
        }
    }
    notices
}
