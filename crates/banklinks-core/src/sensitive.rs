//! A wrapper for values that must never reach a log, a panic message or the UI: client secrets,
//! private keys, tokens, authorization codes, PKCE verifiers.
//!
//! `Debug` and `Display` print a fixed marker and there is deliberately no `Serialize`, so a
//! secret cannot cross IPC or land in SQLite by accident; reading it takes an explicit
//! [`Sensitive::expose`] that is easy to find in review.

use std::fmt;

/// A secret value. See the module docs for what this guarantees.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Gives the secret itself. Only pass the result to the keychain, a request body or a
    /// constant-time comparison; never format it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::Sensitive;

    #[test]
    fn formatting_never_shows_the_value() {
        let secret = Sensitive::new("hunter2".to_string());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&secret)), "Some([redacted])");
        assert_eq!(secret.expose(), "hunter2");
    }
}
