//! Randomness is injected so flows that mint state, nonces, PKCE verifiers or probe values can be
//! replayed in tests with a fixed source.

/// A source of random bytes.
pub trait RandomSource: Send + Sync {
    /// Fills `buf` entirely or fails; a failure must never be papered over with weak bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError>;

    /// `len` random bytes as lowercase hex.
    fn hex(&self, len: usize) -> Result<String, RandomError> {
        let mut bytes = vec![0u8; len];
        self.fill(&mut bytes)?;
        Ok(hex::encode(bytes))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(String);

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|err| RandomError(err.to_string()))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::{RandomError, RandomSource};
    use std::sync::atomic::{AtomicU8, Ordering};

    /// Counts up from a seed, so successive draws differ but every run is the same.
    #[derive(Debug, Default)]
    pub struct CountingRandom(AtomicU8);

    impl RandomSource for CountingRandom {
        fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
            for byte in buf {
                *byte = self.0.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{OsRandom, RandomSource};

    #[test]
    fn os_random_gives_distinct_hex_of_the_asked_length() {
        let first = OsRandom.hex(16).expect("os random");
        let second = OsRandom.hex(16).expect("os random");
        assert_eq!(first.len(), 32);
        assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(first, second);
    }
}
