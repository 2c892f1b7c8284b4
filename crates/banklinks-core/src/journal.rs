//! What the journal records: one typed enum of events with their details.
//!
//! The journal feeds rules (the "contact support" fix reads which fixes were tried; notices are
//! given once by their journalled keys), so an event's name is written in exactly one place:
//! here. The store keeps the kind (the serde tag, in `snake_case` as it always was) in its
//! `event` column and the rest as JSON; queries that filter by kind take the name from
//! [`JournalEvent::kind`]. Rows written before a detail became typed still load: a row whose
//! details no longer fit loads with its kind and no details, and a kind this version does not
//! know loads as `Unknown`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why the person went to the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum AuthorizationPurpose {
    AddConnection,
    Reauth,
    Reconsent,
    Refresh,
}

impl From<&moneyhub::Purpose> for AuthorizationPurpose {
    fn from(purpose: &moneyhub::Purpose) -> Self {
        match purpose {
            moneyhub::Purpose::AddConnection { .. } => AuthorizationPurpose::AddConnection,
            moneyhub::Purpose::Reauth { .. } => AuthorizationPurpose::Reauth,
            moneyhub::Purpose::Reconsent { .. } => AuthorizationPurpose::Reconsent,
            moneyhub::Purpose::Refresh { .. } => AuthorizationPurpose::Refresh,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum JournalEvent {
    /// The bank's page was opened.
    AuthorizationStarted {
        #[specta(type = Option<AuthorizationPurpose>)]
        #[serde(default, deserialize_with = "purpose_as_written")]
        purpose: Option<AuthorizationPurpose>,
    },
    /// The bank sent the person back with an error, or the tokens did not check out.
    AuthorizationFailed {
        #[serde(default)]
        error: String,
    },
    Added,
    ReauthCompleted,
    /// The bank gave the connection a new id; the journal follows the old one through this.
    Reauthed {
        #[serde(default)]
        previous_id: String,
    },
    Reconsented,
    Refreshed,
    /// Moneyhub accepted a manual sync.
    SyncRequested {
        #[serde(default)]
        status: Option<String>,
    },
    /// Moneyhub finished a sync it ran in the background: its `fetchStatus`, or none when
    /// Moneyhub stopped answering about it. Kept for the record; people read the entry's
    /// `outcome`, worded by the core.
    SyncFinished {
        #[specta(type = Option<String>)]
        #[serde(default)]
        fetch_status: Option<moneyhub::models::FetchStatus>,
        /// Transactions that arrived with it.
        #[specta(type = f64)]
        #[serde(default)]
        new_transactions: u64,
    },
    /// Moneyhub no longer lists the connection (deleted in another app of the same client, or
    /// by Moneyhub): its data stays here as history.
    RemovedAtMoneyhub,
    /// Moneyhub no longer lists these accounts of the connection (closed at the bank); they
    /// stay here as history.
    AccountsGone {
        #[serde(default)]
        names: Vec<String>,
    },
    /// A manual sync was refused for time.
    SyncThrottled {
        #[specta(type = Option<String>)]
        #[serde(default)]
        until: Option<DateTime<Utc>>,
    },
    /// "Sync as soon as allowed": will run at `at`.
    SyncQueued {
        #[specta(type = Option<String>)]
        #[serde(default)]
        at: Option<DateTime<Utc>>,
    },
    /// A queued sync was dropped without running (the connection went, or it failed).
    SyncUnqueued {
        #[serde(default)]
        why: String,
    },
    /// The connection and its data were deleted; what went.
    Removed {
        #[specta(type = f64)]
        #[serde(default)]
        accounts: u64,
        #[specta(type = f64)]
        #[serde(default)]
        transactions: u64,
    },
    /// A consent reminder was given (`key` makes it once only).
    ReminderDue {
        #[serde(default)]
        key: String,
        #[serde(default)]
        text: String,
    },
    /// The connection newly needed the person (`key` makes it once only).
    AttentionNeeded {
        #[serde(default)]
        key: String,
        #[serde(default)]
        text: String,
    },
    /// A pending authorization ran out before the bank sent the person back.
    AuthorizationExpired {
        #[specta(type = Option<AuthorizationPurpose>)]
        #[serde(default, deserialize_with = "purpose_as_written")]
        purpose: Option<AuthorizationPurpose>,
    },
    /// What a reauth, reconsent or refresh changed: accounts added or no longer shared (by
    /// name), the consent's new end.
    Changed {
        #[serde(default)]
        accounts_added: Vec<String>,
        #[serde(default)]
        accounts_gone: Vec<String>,
        #[serde(default)]
        consent_until: Option<String>,
    },
    /// Written by a newer version of Banklinks.
    #[serde(other)]
    Unknown,
}

impl JournalEvent {
    /// The name the store keeps in its `event` column.
    pub fn kind(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.get("kind")?.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The details the store keeps beside the kind.
    pub fn details(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.remove("kind");
        }
        value
    }

    /// From a stored row; never fails (see the module docs).
    pub fn from_row(kind: &str, details: &str) -> Self {
        let mut value: serde_json::Value =
            serde_json::from_str(details).unwrap_or_else(|_| serde_json::json!({}));
        if !value.is_object() {
            value = serde_json::json!({});
        }
        if let Some(object) = value.as_object_mut() {
            object.insert("kind".into(), kind.into());
        }
        serde_json::from_value(value)
            .or_else(|_| serde_json::from_value(serde_json::json!({ "kind": kind })))
            .unwrap_or(JournalEvent::Unknown)
    }

    /// Kinds that record a notice given (their `key` keeps it from being given twice).
    pub fn notice_kinds() -> [String; 2] {
        [
            JournalEvent::ReminderDue {
                key: String::new(),
                text: String::new(),
            }
            .kind(),
            JournalEvent::AttentionNeeded {
                key: String::new(),
                text: String::new(),
            }
            .kind(),
        ]
    }

    /// The kind that links a new connection id to its previous one.
    pub fn reauthed_kind() -> String {
        JournalEvent::Reauthed {
            previous_id: String::new(),
        }
        .kind()
    }
}

/// Earlier versions wrote the whole request (`{"flow": "reauth", …}`); now only its purpose.
fn purpose_as_written<'de, D>(deserializer: D) -> Result<Option<AuthorizationPurpose>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Purpose(AuthorizationPurpose),
        Request { flow: AuthorizationPurpose },
        Other(serde::de::IgnoredAny),
    }
    Ok(match Written::deserialize(deserializer)? {
        Written::Purpose(purpose) | Written::Request { flow: purpose } => Some(purpose),
        Written::Other(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_the_names_already_in_the_journal() {
        assert_eq!(JournalEvent::Added.kind(), "added");
        assert_eq!(JournalEvent::ReauthCompleted.kind(), "reauth_completed");
        assert_eq!(JournalEvent::reauthed_kind(), "reauthed");
        assert_eq!(
            JournalEvent::notice_kinds(),
            ["reminder_due".to_string(), "attention_needed".to_string()]
        );
        assert_eq!(JournalEvent::SyncQueued { at: None }.kind(), "sync_queued");
    }

    #[test]
    fn a_row_round_trips_and_old_or_unknown_rows_still_load() {
        let event = JournalEvent::Removed {
            accounts: 2,
            transactions: 340,
        };
        let back = JournalEvent::from_row(&event.kind(), &event.details().to_string());
        assert_eq!(back, event);
        assert_eq!(
            JournalEvent::from_row(
                "authorization_started",
                r#"{"purpose":{"flow":"reauth","userId":"u","connectionId":"c"}}"#
            ),
            JournalEvent::AuthorizationStarted {
                purpose: Some(AuthorizationPurpose::Reauth)
            }
        );
        assert_eq!(
            JournalEvent::from_row("sync_throttled", r#"{"until": 12}"#),
            JournalEvent::SyncThrottled { until: None }
        );
        assert_eq!(
            JournalEvent::from_row("something_new", "{}"),
            JournalEvent::Unknown
        );
        assert_eq!(
            JournalEvent::from_row("added", "not json"),
            JournalEvent::Added
        );
    }
}
