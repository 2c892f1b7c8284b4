//! The keychain self-test behind the diagnostics panel, in three separate steps (write, read back,
//! delete) so each can be checked from outside the app, e.g. with `secret-tool` or Seahorse.
//!
//! The probe value is random and never leaves Rust: callers only ever see its fingerprint (the
//! first 16 hex digits of its SHA-256), which is enough to prove a read returned what was written.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::keychain::{KeychainError, SecretStore};
use crate::random::{RandomError, RandomSource};
use crate::sensitive::Sensitive;

/// The keychain account the probe writes to. Nothing else uses it.
pub const PROBE_ACCOUNT: &str = "diagnostics/keychain-probe";

/// What a write left in the keychain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProbeWritten {
    pub service: String,
    pub account: String,
    pub fingerprint: String,
    pub backend: String,
}

/// What reading the probe back found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum ProbeRead {
    /// The keychain returned exactly what was written.
    Matches { fingerprint: String },
    /// The keychain returned something else (another process changed it, or the store is broken).
    Differs { expected: String, found: String },
    /// There is no probe in the keychain.
    Missing,
}

/// What deleting the probe did, confirmed by reading again afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProbeDeleted {
    pub existed: bool,
    pub gone: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// The SHA-256 prefix that stands for a secret in anything a person or a test can see.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    hex::encode(&digest[..8])
}

/// Writes a fresh random probe, replacing any earlier one.
pub fn write(
    store: &dyn SecretStore,
    service: &str,
    random: &dyn RandomSource,
) -> Result<ProbeWritten, ProbeError> {
    let backend = store.backend()?;
    let value = Sensitive::new(random.hex(24)?);
    store.put(PROBE_ACCOUNT, &value)?;
    Ok(ProbeWritten {
        service: service.to_string(),
        account: PROBE_ACCOUNT.to_string(),
        fingerprint: fingerprint(value.expose()),
        backend,
    })
}

/// Reads the probe back and compares it with the fingerprint `write` returned.
pub fn read(store: &dyn SecretStore, expected: &str) -> Result<ProbeRead, KeychainError> {
    Ok(match store.get(PROBE_ACCOUNT)? {
        None => ProbeRead::Missing,
        Some(value) => {
            let found = fingerprint(value.expose());
            if found == expected {
                ProbeRead::Matches { fingerprint: found }
            } else {
                ProbeRead::Differs {
                    expected: expected.to_string(),
                    found,
                }
            }
        }
    })
}

/// Deletes the probe and checks that it is really gone.
pub fn delete(store: &dyn SecretStore) -> Result<ProbeDeleted, KeychainError> {
    let existed = store.delete(PROBE_ACCOUNT)?;
    let gone = store.get(PROBE_ACCOUNT)?.is_none();
    Ok(ProbeDeleted { existed, gone })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keychain::MemoryKeychain;
    use crate::random::testing::CountingRandom;
    use std::sync::atomic::Ordering;

    #[test]
    fn a_written_probe_reads_back_and_is_gone_after_delete() {
        let store = MemoryKeychain::default();
        let written = write(&store, "test-service", &CountingRandom::default()).expect("write");
        assert_eq!(written.account, PROBE_ACCOUNT);
        assert_eq!(written.fingerprint.len(), 16);

        let read_back = read(&store, &written.fingerprint).expect("read");
        assert_eq!(
            read_back,
            ProbeRead::Matches {
                fingerprint: written.fingerprint.clone()
            }
        );

        assert_eq!(
            delete(&store).expect("delete"),
            ProbeDeleted {
                existed: true,
                gone: true
            }
        );
        assert_eq!(
            read(&store, &written.fingerprint).expect("read"),
            ProbeRead::Missing
        );
        assert_eq!(
            delete(&store).expect("delete"),
            ProbeDeleted {
                existed: false,
                gone: true
            }
        );
    }

    #[test]
    fn a_changed_value_is_reported_as_different() {
        let store = MemoryKeychain::default();
        let random = CountingRandom::default();
        let first = write(&store, "svc", &random).expect("write");
        let second = write(&store, "svc", &random).expect("write");
        assert_ne!(first.fingerprint, second.fingerprint);
        assert!(matches!(
            read(&store, &first.fingerprint).expect("read"),
            ProbeRead::Differs { found, .. } if found == second.fingerprint
        ));
    }

    #[test]
    fn a_locked_keychain_fails_every_step_with_a_locked_error() {
        let store = MemoryKeychain::default();
        store.locked.store(true, Ordering::SeqCst);
        assert!(matches!(
            write(&store, "svc", &CountingRandom::default()),
            Err(ProbeError::Keychain(KeychainError::Locked { .. }))
        ));
        assert!(matches!(
            read(&store, "00"),
            Err(KeychainError::Locked { .. })
        ));
        assert!(matches!(delete(&store), Err(KeychainError::Locked { .. })));
    }

    #[test]
    fn the_fingerprint_is_a_sha256_prefix() {
        // sha256("abc") = ba7816bf8f01cfea...
        assert_eq!(fingerprint("abc"), "ba7816bf8f01cfea");
    }
}
