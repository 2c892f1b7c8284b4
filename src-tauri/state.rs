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
    /// Turns true once the workspace has opened or failed to (it opens beside the window, not
    /// before it): commands wait for it.
    pub opened: tokio::sync::watch::Sender<bool>,
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
            opened: tokio::sync::watch::Sender::new(false),
        }
    }

    /// The workspace, waiting while it opens; or the reason there is none.
    pub async fn ready(&self) -> Result<Arc<Workspace>, IpcError> {
        // Subscribed before looking, so an opening that ends in between is still seen.
        let mut opened = self.opened.subscribe();
        loop {
            match self.workspace() {
                Ok(workspace) => return Ok(workspace),
                Err(err) if *opened.borrow_and_update() => return Err(err),
                Err(_) => {}
            }
            if opened.changed().await.is_err() {
                return Err(IpcError::starting());
            }
        }
    }

    /// The open workspace now, or the reason there is none (for what cannot wait: the tray,
    /// the window's close button).
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
