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
