//! The errors the core returns and the stable codes the UI branches on.
//!
//! A code is added only when the UI does something different for it; everything else is
//! `internal` with a plain-language message.

use serde::Serialize;

use crate::deep_link::DeepLinkError;
use crate::keychain::KeychainError;
use crate::keychain_probe::ProbeError;
use crate::random::RandomError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("the link was rejected: {0}")]
    DeepLink(#[from] DeepLinkError),
    /// A step was asked for before the step it depends on (e.g. reading the keychain probe
    /// before writing it).
    #[error("{0}")]
    OutOfOrder(&'static str),
}

impl From<ProbeError> for Error {
    fn from(err: ProbeError) -> Self {
        match err {
            ProbeError::Keychain(err) => Error::Keychain(err),
            ProbeError::Random(err) => Error::Random(err),
        }
    }
}

/// What the UI switches on. Serialised in snake_case; the set only grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No keychain: the UI explains how to get one; retrying will not help.
    KeychainUnavailable,
    /// The keychain is locked or refused access: the UI offers "Try again" after unlocking.
    KeychainLocked,
    /// Any other keychain failure.
    KeychainFailed,
    /// A `banklinks://` link was turned away.
    DeepLinkRejected,
    /// The action needs an earlier step first.
    OutOfOrder,
    /// Everything else; the message says what happened.
    Internal,
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Keychain(KeychainError::Unavailable { .. }) => ErrorCode::KeychainUnavailable,
            Error::Keychain(KeychainError::Locked { .. }) => ErrorCode::KeychainLocked,
            Error::Keychain(_) => ErrorCode::KeychainFailed,
            Error::DeepLink(_) => ErrorCode::DeepLinkRejected,
            Error::OutOfOrder(_) => ErrorCode::OutOfOrder,
            Error::Random(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keychain_errors_map_to_the_codes_the_ui_branches_on() {
        let unavailable = Error::from(KeychainError::Unavailable {
            detail: "no bus".into(),
        });
        let locked = Error::from(KeychainError::Locked {
            detail: "locked".into(),
        });
        let other = Error::from(KeychainError::Platform {
            detail: "boom".into(),
        });
        assert_eq!(unavailable.code(), ErrorCode::KeychainUnavailable);
        assert_eq!(locked.code(), ErrorCode::KeychainLocked);
        assert_eq!(other.code(), ErrorCode::KeychainFailed);
    }
}
