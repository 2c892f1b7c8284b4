//! Events the shell emits to the UI. Names are past tense; payloads never carry secrets.

use banklinks_core::deep_link::DeepLinkSummary;
use serde::{Deserialize, Serialize};

/// A `banklinks://` link arrived and was accepted. Only its redacted form is sent.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct DeepLinkReceived {
    pub summary: DeepLinkSummary,
    pub sequence: u32,
}

/// A `banklinks://` link arrived and was turned away; `reason` never quotes the link.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct DeepLinkRejected {
    pub reason: String,
    pub sequence: u32,
}

/// The core reported progress or a change (history arriving, a connection added or removed,
/// the connections refreshed).
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct FlowActivity {
    pub event: banklinks_core::flows::FlowEvent,
}

/// A bank callback completed an authorization.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationFinished {
    pub connection_id: String,
    /// Set when a reauth gave the connection a new id.
    pub previous_connection_id: Option<String>,
    /// What the person went to the bank for.
    pub purpose: banklinks_core::journal::AuthorizationPurpose,
    /// What it changed on a connection that was already here.
    pub changes: Option<banklinks_core::flows::Changes>,
    /// How it ended, in the core's words (naming a problem Moneyhub still reports).
    pub outcome: String,
}

/// A bank callback arrived but its authorization could not be completed.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationFailed {
    pub error: crate::error::IpcError,
}

/// A `banklinks://connection/<id>` link asked to show a connection.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct OpenConnectionRequested {
    pub connection_id: String,
}
