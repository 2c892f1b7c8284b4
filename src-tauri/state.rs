//! What the shell keeps between commands. Secrets are not kept here: they stay in the keychain.

use std::sync::{Arc, Mutex};

use banklinks_core::deep_link::LinkActivity;
use banklinks_core::keychain::{KEYCHAIN_TIME_LIMIT, OsKeychain, TimeLimited};
use banklinks_core::workspace::Workspace;

use crate::error::IpcError;

#[derive(Debug)]
pub struct AppState {
    pub keychain: OsKeychain,
    /// The same keychain behind the core's time limit, for the diagnostics' calls.
    pub secrets: TimeLimited,
    /// Fingerprint of the keychain probe last written, so "read back" can check it.
    pub probe_fingerprint: Mutex<Option<String>>,
    pub links: Mutex<LinkActivity>,
    /// The session, once opened; until then (or when opening failed) `workspace_error` says why.
    pub workspace: Mutex<Option<Arc<Workspace>>>,
    pub workspace_error: Mutex<Option<IpcError>>,
    /// Given once the UI has painted its first content: the poller's first step (a refresh
    /// from Moneyhub) waits for it, so the first paint never competes with the network.
    pub first_paint: tokio::sync::Notify,
}

impl AppState {
    pub fn new(keychain_service: String) -> Self {
        let keychain = OsKeychain::new(keychain_service);
        Self {
            secrets: TimeLimited::new(Arc::new(keychain.clone()), KEYCHAIN_TIME_LIMIT),
            keychain,
            probe_fingerprint: Mutex::new(None),
            links: Mutex::new(LinkActivity::default()),
            workspace: Mutex::new(None),
            workspace_error: Mutex::new(None),
            first_paint: tokio::sync::Notify::new(),
        }
    }

    /// The open workspace, or the reason there is none.
    pub fn workspace(&self) -> Result<Arc<Workspace>, IpcError> {
        if let Some(workspace) = lock(&self.workspace).clone() {
            return Ok(workspace);
        }
        Err(lock(&self.workspace_error)
            .clone()
            .unwrap_or_else(IpcError::starting))
    }
}

/// Locks a mutex, recovering from poisoning: the guarded values are plain data that a panic
/// elsewhere cannot leave half-written.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
