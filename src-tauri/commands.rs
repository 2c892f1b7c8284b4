//! IPC commands: each extracts state, calls one core operation and converts the error. The
//! keychain self-test lives here; the journeys are in the submodules.
//!
//! Keychain calls can block (a Secret Service prompt, a slow D-Bus) so they run on the blocking
//! pool with a time limit; on the main thread they would freeze the window.

pub mod connections;
pub mod demo;
pub mod session;

use std::time::Duration;

use banklinks_core::deep_link::LinkActivity;
use banklinks_core::keychain::SecretStore;
use banklinks_core::keychain_probe::{self, ProbeDeleted, ProbeRead, ProbeWritten};
use banklinks_core::random::OsRandom;
use serde::Serialize;
use tauri::State;

use crate::error::IpcError;
use crate::state::{AppState, lock};

/// Longer than a person needs to answer an unlock prompt is not useful; shorter would cut off a
/// keyring daemon that is starting on demand.
const KEYCHAIN_TIME_LIMIT: Duration = Duration::from_secs(30);

async fn off_main_thread<T, F>(work: F) -> Result<T, IpcError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, banklinks_core::Error> + Send + 'static,
{
    let task = tauri::async_runtime::spawn_blocking(work);
    match tokio::time::timeout(KEYCHAIN_TIME_LIMIT, task).await {
        Ok(Ok(result)) => result.map_err(IpcError::from),
        Ok(Err(join_error)) => Err(IpcError::internal(format!(
            "the keychain task failed: {join_error}"
        ))),
        Err(_) => Err(IpcError::from(banklinks_core::Error::Keychain(
            banklinks_core::keychain::KeychainError::Platform {
                detail: format!("no answer within {} seconds", KEYCHAIN_TIME_LIMIT.as_secs()),
            },
        ))),
    }
}

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
    let keychain = state.keychain.clone();
    off_main_thread(move || {
        Ok(KeychainStatus {
            backend: keychain.backend()?,
            service: keychain.service().to_string(),
        })
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn keychain_probe_write(state: State<'_, AppState>) -> Result<ProbeWritten, IpcError> {
    let keychain = state.keychain.clone();
    let written = off_main_thread(move || {
        Ok(keychain_probe::write(
            &keychain,
            keychain.service(),
            &OsRandom,
        )?)
    })
    .await?;
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
    let keychain = state.keychain.clone();
    off_main_thread(move || Ok(keychain_probe::read(&keychain, &expected)?)).await
}

#[tauri::command]
#[specta::specta]
pub async fn keychain_probe_delete(state: State<'_, AppState>) -> Result<ProbeDeleted, IpcError> {
    let keychain = state.keychain.clone();
    let deleted = off_main_thread(move || Ok(keychain_probe::delete(&keychain)?)).await?;
    *lock(&state.probe_fingerprint) = None;
    Ok(deleted)
}

/// Links seen since start, so a UI that loads after a cold start by link still shows it.
#[tauri::command]
#[specta::specta]
pub fn deep_link_activity(state: State<'_, AppState>) -> LinkActivity {
    lock(&state.links).clone()
}
