//! Secrets live in the operating system's keychain and nowhere else: macOS Keychain, Windows
//! Credential Manager, or the freedesktop Secret Service on Linux (through the `keyring` crate's
//! default native stores).
//!
//! There is deliberately no fallback. If the keychain is missing or locked the caller gets a
//! [`KeychainError`] it can show to the user; silently keeping secrets in memory or in a file
//! would look like it works until the app restarts, or leak them to disk.

mod parted;
mod time_limited;

pub use parted::{PART_UNITS, Parted};
pub use time_limited::{KEYCHAIN_TIME_LIMIT, TimeLimited};

use crate::sensitive::Sensitive;

/// Where one secret is kept: the app's keychain service name plus an account within it.
/// Accounts are namespaced by the caller (for example `demo/client-secret`).
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// Which keychain backs this store, for the diagnostics panel.
    fn backend(&self) -> Result<String, KeychainError>;
    /// Creates or replaces the secret under `account`.
    fn put(&self, account: &str, secret: &Sensitive<String>) -> Result<(), KeychainError>;
    /// The secret under `account`, or `None` when there is none.
    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>, KeychainError>;
    /// Removes the secret under `account`; `false` when there was nothing to remove.
    fn delete(&self, account: &str) -> Result<bool, KeychainError>;
}

/// Why the keychain could not be used. Messages are written for the person using the app; the
/// platform's own words follow in `detail`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeychainError {
    /// No keychain could be reached at all (on Linux: no Secret Service on the session bus).
    #[error(
        "No keychain is available ({detail}). Banklinks keeps secrets only in the system keychain; \
         on Linux start a Secret Service such as GNOME Keyring or KeePassXC, then restart Banklinks."
    )]
    Unavailable { detail: String },
    /// The keychain exists but refused access, typically because it is locked.
    #[error("The keychain is locked or refused access ({detail}). Unlock it and try again.")]
    Locked { detail: String },
    /// The stored value is not text Banklinks wrote; it is left untouched.
    #[error("The keychain entry {account:?} holds data Banklinks cannot read; it was left as is.")]
    Unreadable { account: String },
    /// More than one keychain item matches one account, so which to use is ambiguous.
    #[error("The keychain holds {count} entries for {account:?}; remove the extras and retry.")]
    Ambiguous { account: String, count: usize },
    /// Anything else the platform reported.
    #[error("The keychain reported an error: {detail}")]
    Platform { detail: String },
}

/// The keychain of the operating system, with every entry under one service name, and long
/// secrets kept in parts (see [`Parted`]: one Windows item holds no private key).
#[derive(Debug, Clone)]
pub struct OsKeychain {
    items: Parted<OsItems>,
}

impl OsKeychain {
    /// Entries are filed under `service`; tests pass their own name so they never touch the
    /// app's real entries.
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            items: Parted::new(OsItems {
                service: service.into(),
            }),
        }
    }

    pub fn service(&self) -> &str {
        &self.items.inner().service
    }
}

impl SecretStore for OsKeychain {
    fn backend(&self) -> Result<String, KeychainError> {
        self.items.backend()
    }
    fn put(&self, account: &str, secret: &Sensitive<String>) -> Result<(), KeychainError> {
        self.items.put(account, secret)
    }
    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>, KeychainError> {
        self.items.get(account)
    }
    fn delete(&self, account: &str) -> Result<bool, KeychainError> {
        self.items.delete(account)
    }
}

/// One item per account in the operating system's keychain.
#[derive(Debug, Clone)]
struct OsItems {
    service: String,
}

impl OsItems {
    fn entry(&self, account: &str) -> Result<keyring::Entry, KeychainError> {
        if let Err(err) = keyring::Entry::store_status() {
            return Err(unavailable(err));
        }
        keyring::Entry::new(&self.service, account).map_err(|err| classify(err, account))
    }
}

impl SecretStore for OsItems {
    fn backend(&self) -> Result<String, KeychainError> {
        keyring::Entry::store_status()
            .as_ref()
            .map_err(unavailable)?;
        keyring_core::get_default_store()
            .map(|store| backend_name(&store.vendor()))
            .ok_or_else(|| KeychainError::Unavailable {
                detail: "no credential store is set".into(),
            })
    }

    fn put(&self, account: &str, secret: &Sensitive<String>) -> Result<(), KeychainError> {
        self.entry(account)?
            .set_password(secret.expose())
            .map_err(|err| classify(err, account))
    }

    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>, KeychainError> {
        match self.entry(account)?.get_password() {
            Ok(secret) => Ok(Some(Sensitive::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(classify(err, account)),
        }
    }

    fn delete(&self, account: &str) -> Result<bool, KeychainError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(err) => Err(classify(err, account)),
        }
    }
}

/// The keychain's name as a person knows it; the keyring crate's vendor strings name crates.
fn backend_name(vendor: &str) -> String {
    let known = [
        (
            "Secret Service",
            "Secret Service (GNOME Keyring, KWallet or KeePassXC)",
        ),
        ("Windows", "Windows Credential Manager"),
        ("Keychain", "macOS Keychain"),
        ("keychain", "macOS Keychain"),
    ];
    known
        .iter()
        .find(|(marker, _)| vendor.contains(marker))
        .map_or_else(|| vendor.to_string(), |(_, name)| (*name).to_string())
}

fn unavailable(err: &keyring::Error) -> KeychainError {
    KeychainError::Unavailable {
        detail: err.to_string(),
    }
}

/// Maps the keyring crate's errors onto the cases the user can act on.
fn classify(err: keyring::Error, account: &str) -> KeychainError {
    use keyring::Error as K;
    match err {
        K::NoDefaultStore => KeychainError::Unavailable {
            detail: err.to_string(),
        },
        K::NoStorageAccess(inner) => KeychainError::Locked {
            detail: inner.to_string(),
        },
        K::BadEncoding(_) | K::BadDataFormat(..) => KeychainError::Unreadable {
            account: account.to_string(),
        },
        K::Ambiguous(items) => KeychainError::Ambiguous {
            account: account.to_string(),
            count: items.len(),
        },
        other => KeychainError::Platform {
            detail: other.to_string(),
        },
    }
}

/// An in-memory store for unit tests of code that takes a [`SecretStore`]. Never used by the app:
/// see the module docs for why there is no fallback.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct MemoryKeychain {
    entries: std::sync::Mutex<std::collections::HashMap<String, String>>,
    pub(crate) locked: std::sync::atomic::AtomicBool,
    /// The most UTF-16 units one item holds, where the platform has a limit (Windows: 1,280).
    pub(crate) item_limit_utf16: Option<usize>,
}

#[cfg(test)]
impl MemoryKeychain {
    fn check(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, std::collections::HashMap<String, String>>, KeychainError>
    {
        if self.locked.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(KeychainError::Locked {
                detail: "test keychain locked".into(),
            });
        }
        Ok(self
            .entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()))
    }
}

#[cfg(test)]
impl SecretStore for MemoryKeychain {
    fn backend(&self) -> Result<String, KeychainError> {
        Ok("memory (tests only)".into())
    }
    fn put(&self, account: &str, secret: &Sensitive<String>) -> Result<(), KeychainError> {
        let units = secret.expose().encode_utf16().count();
        if self.item_limit_utf16.is_some_and(|limit| units > limit) {
            return Err(KeychainError::Platform {
                detail: format!(
                    "Attribute 'password' is longer than platform limit ({units} units)"
                ),
            });
        }
        self.check()?
            .insert(account.into(), secret.expose().clone());
        Ok(())
    }
    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>, KeychainError> {
        Ok(self.check()?.get(account).cloned().map(Sensitive::new))
    }
    fn delete(&self, account: &str) -> Result<bool, KeychainError> {
        Ok(self.check()?.remove(account).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::{KeychainError, classify};

    #[test]
    fn a_locked_store_is_reported_as_locked() {
        let err = classify(
            keyring::Error::NoStorageAccess("collection is locked".into()),
            "demo/client-secret",
        );
        assert!(
            matches!(err, KeychainError::Locked { ref detail } if detail == "collection is locked")
        );
        assert!(err.to_string().contains("Unlock it"));
    }

    #[test]
    fn backends_are_named_as_people_know_them() {
        assert_eq!(
            super::backend_name(
                "Secret Service store, https://crates.io/crates/zbus-secret-service-keyring-store"
            ),
            "Secret Service (GNOME Keyring, KWallet or KeePassXC)"
        );
        assert_eq!(super::backend_name("something new"), "something new");
    }

    #[test]
    fn a_missing_store_is_reported_as_unavailable() {
        let err = classify(keyring::Error::NoDefaultStore, "x");
        assert!(matches!(err, KeychainError::Unavailable { .. }));
    }

    #[test]
    fn non_text_secrets_are_unreadable_and_name_the_account_not_the_bytes() {
        let err = classify(keyring::Error::BadEncoding(vec![0xff, 0xfe]), "demo/token");
        let message = err.to_string();
        assert!(message.contains("demo/token"));
        assert!(!message.contains("255"));
    }
}
