//! IPC commands: each extracts state, calls one core operation and converts the error. The
//! keychain self-test lives here; the journeys are in the submodules.
//!
//! Keychain calls go through the core's time-limited boundary (`state.secrets`), and every
//! command is async, so a Secret Service prompt or a slow D-Bus never freezes the window.

pub mod connections;
pub mod demo;
pub mod session;

use banklinks_core::deep_link::LinkActivity;
use banklinks_core::keychain::SecretStore;
use banklinks_core::keychain_probe::{self, ProbeDeleted, ProbeRead, ProbeWritten};
use banklinks_core::random::OsRandom;
use serde::Serialize;
use tauri::State;

use crate::error::IpcError;
use crate::state::{AppState, lock};

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct KeychainStatus {
    /// The store in use, e.g. "Secret Service store, …".
    pub backend: String,
    /// The service name Banklinks files its entries under.
    pub service: String,
}

#[tauri::command]
#[specta::specta]
pub async fn keychain_status(state: State<'_, AppState>) -> Result<KeychainStatus, IpcError> {
    Ok(KeychainStatus {
        backend: state
            .secrets
            .backend()
            .map_err(banklinks_core::Error::from)?,
        service: state.keychain.service().to_string(),
    })
}

#[tauri::command]
#[specta::specta]
pub async fn keychain_probe_write(state: State<'_, AppState>) -> Result<ProbeWritten, IpcError> {
    let written = keychain_probe::write(&state.secrets, state.keychain.service(), &OsRandom)
        .map_err(banklinks_core::Error::from)?;
    *lock(&state.probe_fingerprint) = Some(written.fingerprint.clone());
    Ok(written)
}

#[tauri::command]
#[specta::specta]
pub async fn keychain_probe_read(state: State<'_, AppState>) -> Result<ProbeRead, IpcError> {
    let expected = lock(&state.probe_fingerprint).clone().ok_or_else(|| {
        IpcError::from(banklinks_core::Error::OutOfOrder(
            "Write a test secret before reading it back.",
        ))
    })?;
    Ok(keychain_probe::read(&state.secrets, &expected).map_err(banklinks_core::Error::from)?)
}

#[tauri::command]
#[specta::specta]
pub async fn keychain_probe_delete(state: State<'_, AppState>) -> Result<ProbeDeleted, IpcError> {
    let deleted = keychain_probe::delete(&state.secrets).map_err(banklinks_core::Error::from)?;
    *lock(&state.probe_fingerprint) = None;
    Ok(deleted)
}

/// Links seen since start, so a UI that loads after a cold start by link still shows it.
#[tauri::command]
#[specta::specta]
pub async fn deep_link_activity(state: State<'_, AppState>) -> Result<LinkActivity, IpcError> {
    Ok(lock(&state.links).clone())
}

/// The UI painted its first real content (`cards` connection cards): the poller may start,
/// and `scripts/bench-app` gets its figure (see `bench.rs`).
#[tauri::command]
#[specta::specta]
pub fn report_first_paint(state: State<'_, AppState>, cards: u32, marks: Vec<(String, f64)>) {
    // A permit is kept if the poller is not waiting yet.
    state.first_paint.notify_one();
    crate::bench::first_paint(cards, &marks);
}
