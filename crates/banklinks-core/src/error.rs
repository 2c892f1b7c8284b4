//! The errors the core returns and the stable codes the UI branches on.
//!
//! A code is added only when the UI does something different for it; everything else is
//! `internal` with a plain-language message.

use serde::Serialize;

use crate::deep_link::DeepLinkError;
use crate::environment::EnvironmentError;
use crate::flows::FlowError;
use crate::keychain::KeychainError;
use crate::keychain_probe::ProbeError;
use crate::random::RandomError;
use crate::store::StoreError;

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
    #[error(transparent)]
    Flow(#[from] FlowError),
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("choose or create a Moneyhub user (a profile) first")]
    NoProfile,
    /// The action is not allowed for this connection now; the text says why.
    #[error("{0}")]
    NotAllowed(String),
    /// Demo-only controls used outside Demo, or the demo sandbox misbehaving.
    #[error("{0}")]
    Demo(String),
}

impl From<moneyhub::Error> for Error {
    fn from(err: moneyhub::Error) -> Self {
        Error::Flow(FlowError::Moneyhub(err))
    }
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
    /// Moneyhub could not be reached (offline, the server is down, a timeout): cached data
    /// stays; the UI says the action needs a connection.
    Offline,
    /// Moneyhub answered with an error; the message keeps its words.
    MoneyhubError,
    /// Too early for a manual sync (ours, the provider's or Moneyhub's limit): the message says
    /// until when.
    SyncNotYet,
    /// The connection's consent has expired: reconsent or reauth.
    ConsentExpired,
    /// Something is already running on this connection.
    Busy,
    /// A callback that matches no authorization in progress (expired, cancelled, used, forged).
    NoSuchAuthorization,
    /// The same bank answer again, just after it was received: nothing to show.
    AlreadyHandled,
    /// The bank or Moneyhub refused the authorization, or its tokens did not verify.
    AuthorizationFailed,
    /// The environment's settings or credentials are incomplete or wrong.
    ConfigurationInvalid,
    /// The database could not be opened and was moved aside.
    DatabaseDamaged,
    /// No profile (Moneyhub user) is selected yet.
    NoProfile,
    /// Moneyhub no longer has the profile's user (deleted elsewhere): its saved data stays;
    /// the fix is a new Moneyhub user or removing the profile. Retrying will not help.
    UserGone,
    /// The action is not allowed for this connection now.
    NotAllowed,
    /// No such connection, environment or profile.
    NotFound,
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
            Error::Flow(err) => flow_code(err),
            Error::Environment(err) => match err {
                EnvironmentError::BadUrl(_)
                | EnvironmentError::MissingSecret(_)
                | EnvironmentError::SecretForOldServers(_) => ErrorCode::ConfigurationInvalid,
                EnvironmentError::Keychain(err) => Error::code_of_keychain(err),
                EnvironmentError::Store(err) => store_code(err),
                EnvironmentError::Moneyhub(err) => moneyhub_code(err),
                EnvironmentError::Unknown(_) => ErrorCode::NotFound,
            },
            Error::Store(err) => store_code(err),
            Error::NoProfile => ErrorCode::NoProfile,
            Error::NotAllowed(_) => ErrorCode::NotAllowed,
            Error::Demo(_) => ErrorCode::Internal,
        }
    }

    fn code_of_keychain(err: &KeychainError) -> ErrorCode {
        match err {
            KeychainError::Unavailable { .. } => ErrorCode::KeychainUnavailable,
            KeychainError::Locked { .. } => ErrorCode::KeychainLocked,
            _ => ErrorCode::KeychainFailed,
        }
    }
}

fn store_code(err: &StoreError) -> ErrorCode {
    match err {
        StoreError::MovedAside { .. } | StoreError::TooNew { .. } => ErrorCode::DatabaseDamaged,
        _ => ErrorCode::Internal,
    }
}

fn moneyhub_code(err: &moneyhub::Error) -> ErrorCode {
    use moneyhub::Error as M;
    match err {
        M::Transport { .. } | M::Discovery(_) => ErrorCode::Offline,
        M::RateLimited { .. } => ErrorCode::SyncNotYet,
        M::ConsentExpired { .. } => ErrorCode::ConsentExpired,
        M::OAuth { .. } | M::IdTokenRejected { .. } => ErrorCode::AuthorizationFailed,
        M::UnknownState | M::MalformedCallback(_) => ErrorCode::NoSuchAuthorization,
        M::Config(_) => ErrorCode::ConfigurationInvalid,
        M::Http { status: 404, .. } => ErrorCode::NotFound,
        _ => ErrorCode::MoneyhubError,
    }
}

fn flow_code(err: &FlowError) -> ErrorCode {
    match err {
        FlowError::Moneyhub(err) => moneyhub_code(err),
        FlowError::Store(err) => store_code(err),
        FlowError::Keychain(err) => Error::code_of_keychain(err),
        FlowError::SyncNotYet(_) => ErrorCode::SyncNotYet,
        FlowError::NoSuchAuthorization => ErrorCode::NoSuchAuthorization,
        FlowError::AlreadyHandled => ErrorCode::AlreadyHandled,
        FlowError::SecretsMissing => ErrorCode::AuthorizationFailed,
        FlowError::Busy(_) => ErrorCode::Busy,
        FlowError::NoSuchConnection(_) => ErrorCode::NotFound,
        FlowError::NotAllowed(_) => ErrorCode::NotAllowed,
        FlowError::UserGone => ErrorCode::UserGone,
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
