//! What the shell keeps between commands. Secrets are not kept here: they stay in the keychain.

use std::sync::Mutex;

use banklinks_core::deep_link::LinkActivity;
use banklinks_core::keychain::OsKeychain;

#[derive(Debug)]
pub struct AppState {
    pub keychain: OsKeychain,
    /// Fingerprint of the keychain probe last written, so "read back" can check it.
    pub probe_fingerprint: Mutex<Option<String>>,
    pub links: Mutex<LinkActivity>,
}

impl AppState {
    pub fn new(keychain_service: String) -> Self {
        Self {
            keychain: OsKeychain::new(keychain_service),
            probe_fingerprint: Mutex::new(None),
            links: Mutex::new(LinkActivity::default()),
        }
    }
}

/// Locks a mutex, recovering from poisoning: the guarded values are plain data that a panic
/// elsewhere cannot leave half-written.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
