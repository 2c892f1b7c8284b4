//! The one boundary every keychain call goes through.
//!
//! A Secret Service can stall (an unlock prompt nobody answers, a keyring daemon starting on
//! demand, a wedged D-Bus). Each call therefore runs on a thread of its own and the caller waits
//! at most a limit; past it the caller gets `KeychainError::Unavailable` (the UI's
//! `keychain_unavailable`) and the stalled call is left to finish or die on its own thread. The
//! caller's thread (a runtime worker, never the window's: every command is async) is never held
//! longer than the limit.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use super::{KeychainError, SecretStore};
use crate::sensitive::Sensitive;

/// Longer than a person needs to answer an unlock prompt is not useful; shorter would cut off a
/// keyring daemon that is starting on demand.
pub const KEYCHAIN_TIME_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct TimeLimited {
    inner: Arc<dyn SecretStore>,
    limit: Duration,
}

impl TimeLimited {
    pub fn new(inner: Arc<dyn SecretStore>, limit: Duration) -> Self {
        Self { inner, limit }
    }

    fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn SecretStore) -> Result<T, KeychainError> + Send + 'static,
    ) -> Result<T, KeychainError> {
        let inner = self.inner.clone();
        let (answer, answered) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("keychain".into())
            .spawn(move || {
                let _ = answer.send(work(inner.as_ref()));
            })
            .map_err(|err| KeychainError::Platform {
                detail: format!("could not start the keychain call: {err}"),
            })?;
        answered.recv_timeout(self.limit).unwrap_or_else(|_| {
            Err(KeychainError::Unavailable {
                detail: format!(
                    "the keychain gave no answer within {} seconds",
                    self.limit.as_secs_f32()
                ),
            })
        })
    }
}

impl SecretStore for TimeLimited {
    fn backend(&self) -> Result<String, KeychainError> {
        self.call(|store| store.backend())
    }

    fn put(&self, account: &str, secret: &Sensitive<String>) -> Result<(), KeychainError> {
        let (account, secret) = (account.to_string(), secret.clone());
        self.call(move |store| store.put(&account, &secret))
    }

    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>, KeychainError> {
        let account = account.to_string();
        self.call(move |store| store.get(&account))
    }

    fn delete(&self, account: &str) -> Result<bool, KeychainError> {
        let account = account.to_string();
        self.call(move |store| store.delete(&account))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keychain::MemoryKeychain;

    /// A keychain that answers only after a pause, like an unanswered unlock prompt.
    #[derive(Debug, Default)]
    struct Stalled(MemoryKeychain);

    impl SecretStore for Stalled {
        fn backend(&self) -> Result<String, KeychainError> {
            std::thread::sleep(Duration::from_millis(500));
            self.0.backend()
        }
        fn put(&self, account: &str, secret: &Sensitive<String>) -> Result<(), KeychainError> {
            std::thread::sleep(Duration::from_millis(500));
            self.0.put(account, secret)
        }
        fn get(&self, account: &str) -> Result<Option<Sensitive<String>>, KeychainError> {
            self.0.get(account)
        }
        fn delete(&self, account: &str) -> Result<bool, KeychainError> {
            self.0.delete(account)
        }
    }

    #[test]
    fn answers_pass_through_and_a_stall_becomes_unavailable_within_the_limit() {
        let store = TimeLimited::new(Arc::new(Stalled::default()), Duration::from_millis(50));
        store
            .delete("nothing")
            .expect("a quick answer passes through");
        let started = std::time::Instant::now();
        let stalled = store.put("a", &Sensitive::new("s".to_string()));
        assert!(
            matches!(stalled, Err(KeychainError::Unavailable { .. })),
            "{stalled:?}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(400),
            "the caller waited for the stall"
        );
        let patient = TimeLimited::new(Arc::new(Stalled::default()), Duration::from_secs(5));
        patient
            .put("a", &Sensitive::new("s".to_string()))
            .expect("within the limit");
        assert_eq!(
            patient.get("a").expect("read").map(|s| s.expose().clone()),
            Some("s".to_string())
        );
    }
}
