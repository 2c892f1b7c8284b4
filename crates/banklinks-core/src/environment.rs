//! Environments (where Moneyhub is, and as which API client) and their profiles (Moneyhub users).
//!
//! - **Demo** (the default): the sandbox runs in-process on a loopback port with the
//!   pre-registered demo client; personas give a presenter users with ready-made connections.
//! - **Moneyhub**: production URLs; the user's client id, secret or private key, redirect URI.
//! - **Custom**: any URLs.
//!
//! Settings are stored without secrets; the client secret or private key is in the keychain
//! under `<environment>/client-secret@<servers>` or `<environment>/private-key@<servers>`,
//! named for the servers it was given for (see [`secret_account`]). Removing an environment
//! removes those entries and the secrets of its pending authorizations. The Demo client's secret
//! is the sandbox's built-in one and never goes to the keychain, so Demo opens without it.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use moneyhub::jwt::{KeyAlgorithm, SigningKey};
use moneyhub::{ClientAuth, Config, Moneyhub, RequestObjectSigning, ResponseType};
use moneyhub_sandbox::clients::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI};
use moneyhub_sandbox::{RunningSandbox, SandboxConfig};
use serde::{Deserialize, Serialize};

use crate::keychain::{KeychainError, SecretStore};
use crate::sensitive::Sensitive;
use crate::store::{EnvironmentRecord, Store, StoreError};

pub const DEMO: &str = "demo";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum EnvironmentKind {
    Demo,
    Moneyhub,
    Custom,
}

impl EnvironmentKind {
    fn as_str(self) -> &'static str {
        match self {
            EnvironmentKind::Demo => "demo",
            EnvironmentKind::Moneyhub => "moneyhub",
            EnvironmentKind::Custom => "custom",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum AuthKind {
    ClientSecretBasic,
    PrivateKeyJwtRs256,
    PrivateKeyJwtPs256,
}

/// Everything about an environment except its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentSettings {
    pub id: String,
    pub kind: EnvironmentKind,
    pub name: String,
    pub identity_url: String,
    pub api_url: String,
    pub client_id: String,
    pub auth: AuthKind,
    pub signed_request_objects: bool,
    pub redirect_uri: String,
    pub hybrid_response: bool,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvironmentError {
    #[error(
        "{0} is not a valid https URL (plain http only to this computer, no user name or password)"
    )]
    BadUrl(String),
    #[error("the servers changed, so enter the {0} again: it is not sent to a new server unasked")]
    SecretForOldServers(&'static str),
    #[error("the environment has no {0} in the keychain; enter it again in Settings")]
    MissingSecret(&'static str),
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Moneyhub(#[from] moneyhub::Error),
    #[error("no environment {0}")]
    Unknown(String),
}

/// The keychain entry that holds an environment's secret, named for the servers it was given
/// for (`<id>/client-secret@<digest of the identity and API origins>`). The store says where
/// to connect, and a store can be changed (a copied data folder, a restored backup, another
/// `BANKLINKS_DATA_DIR`): settings naming other servers find no secret, so the secret never
/// follows them there. Checked at every use, by construction, and closed on any doubt.
pub(crate) fn secret_account(settings: &EnvironmentSettings) -> Result<String, EnvironmentError> {
    use sha2::Digest;
    let origins = format!(
        "{} {}",
        checked_url(&settings.identity_url)?
            .origin()
            .ascii_serialization(),
        checked_url(&settings.api_url)?
            .origin()
            .ascii_serialization()
    );
    let digest = sha2::Sha256::digest(origins.as_bytes());
    Ok(format!(
        "{}/{}@{}",
        settings.id,
        secret_kind(settings.auth),
        hex::encode(&digest[..8])
    ))
}

fn secret_kind(auth: AuthKind) -> &'static str {
    match auth {
        AuthKind::ClientSecretBasic => "client-secret",
        AuthKind::PrivateKeyJwtRs256 | AuthKind::PrivateKeyJwtPs256 => "private-key",
    }
}

/// Whether a URL may be handed to the system opener or sent secrets: https, or plain http to
/// this computer; no other scheme (`file:`, `javascript:`, a custom one that starts an app).
pub fn is_safe_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| moneyhub::is_safe_endpoint(&url))
}

/// The client secret and tokens go to these URLs: https, or plain http to this computer only.
fn checked_url(text: &str) -> Result<url::Url, EnvironmentError> {
    let url = url::Url::parse(text).map_err(|_| EnvironmentError::BadUrl(text.to_string()))?;
    if !moneyhub::is_safe_endpoint(&url) {
        return Err(EnvironmentError::BadUrl(text.to_string()));
    }
    Ok(url)
}

/// Saves an environment; `secret` (the client secret, or the private key as PEM or JWK) goes to
/// the keychain.
pub fn save(
    store: &Store,
    keychain: &dyn SecretStore,
    settings: &EnvironmentSettings,
    secret: Option<&Sensitive<String>>,
    now: DateTime<Utc>,
) -> Result<(), EnvironmentError> {
    checked_url(&settings.identity_url)?;
    checked_url(&settings.api_url)?;
    if let Some(secret) = secret {
        keychain.put(&secret_account(settings)?, secret)?;
    }
    // The secret given for the servers saved before goes with them.
    if let Ok(before) = load(store, &settings.id)
        && let Ok(old) = secret_account(&before)
        && old != secret_account(settings)?
    {
        keychain.delete(&old)?;
    }
    save_settings(store, settings, now)
}

/// The settings alone, without their secret.
fn save_settings(
    store: &Store,
    settings: &EnvironmentSettings,
    now: DateTime<Utc>,
) -> Result<(), EnvironmentError> {
    store.ensure_environment(
        &EnvironmentRecord {
            id: settings.id.clone(),
            kind: settings.kind.as_str().into(),
            name: settings.name.clone(),
            identity_url: settings.identity_url.clone(),
            api_url: settings.api_url.clone(),
            client_id: settings.client_id.clone(),
        },
        now,
    )?;
    store.set_environment_settings(
        &settings.id,
        &serde_json::to_string(settings).unwrap_or_default(),
    )?;
    Ok(())
}

pub fn load(store: &Store, id: &str) -> Result<EnvironmentSettings, EnvironmentError> {
    let json = store
        .environment_settings(id)?
        .ok_or_else(|| EnvironmentError::Unknown(id.to_string()))?;
    serde_json::from_str(&json).map_err(|_| EnvironmentError::Unknown(id.to_string()))
}

/// A Moneyhub client for an environment, with its secret from the keychain (Demo's is built
/// in).
pub fn client(
    settings: &EnvironmentSettings,
    keychain: &dyn SecretStore,
    env: Arc<dyn moneyhub::Environment>,
) -> Result<Moneyhub, EnvironmentError> {
    if settings.kind == EnvironmentKind::Demo && settings.client_id == DEMO_CLIENT_ID {
        let secret = Sensitive::new(DEMO_CLIENT_SECRET.to_string());
        return client_with_secret(settings, &secret, env);
    }
    let secret = keychain
        .get(&secret_account(settings)?)?
        .ok_or(EnvironmentError::MissingSecret(secret_name(settings.auth)))?;
    client_with_secret(settings, &secret, env)
}

/// What the secret of `auth` is called, for messages.
pub fn secret_name(auth: AuthKind) -> &'static str {
    if auth == AuthKind::ClientSecretBasic {
        "client secret"
    } else {
        "private key"
    }
}

/// A Moneyhub client for settings not saved yet (to verify them first).
pub fn client_with_secret(
    settings: &EnvironmentSettings,
    secret: &Sensitive<String>,
    env: Arc<dyn moneyhub::Environment>,
) -> Result<Moneyhub, EnvironmentError> {
    let auth = match settings.auth {
        AuthKind::ClientSecretBasic => ClientAuth::SecretBasic {
            secret: moneyhub::Secret::new(secret.expose().clone()),
        },
        kind => {
            let algorithm = if kind == AuthKind::PrivateKeyJwtPs256 {
                KeyAlgorithm::Ps256
            } else {
                KeyAlgorithm::Rs256
            };
            let text = secret.expose().trim();
            let key = if text.starts_with('{') {
                SigningKey::from_jwk(text)?
            } else {
                SigningKey::from_pem(text, algorithm, None)?
            };
            ClientAuth::PrivateKeyJwt { key }
        }
    };
    let mut config = Config::new(
        checked_url(&settings.identity_url)?,
        checked_url(&settings.api_url)?,
        settings.client_id.clone(),
        auth,
        settings.redirect_uri.clone(),
    );
    // Unsigned, the parameters go as plain PAR fields rather than an `alg: none` request
    // object: Moneyhub documents both, and plain fields also work where the server refuses
    // unsigned request objects (a client_secret_basic client has no key to sign with).
    config.request_object_signing = if settings.signed_request_objects {
        RequestObjectSigning::Rs256
    } else {
        RequestObjectSigning::Plain
    };
    config.response_type = if settings.hybrid_response {
        ResponseType::CodeIdToken
    } else {
        ResponseType::Code
    };
    Ok(Moneyhub::with_environment(config, env)?)
}

/// Removes an environment: its keychain entries (the secret and any pending authorization's
/// verifier and nonce), then its profiles and their data.
pub fn remove(
    store: &mut Store,
    keychain: &dyn SecretStore,
    id: &str,
) -> Result<(), EnvironmentError> {
    if let Ok(settings) = load(store, id)
        && let Ok(account) = secret_account(&settings)
    {
        keychain.delete(&account)?;
    }
    for state in store.pending_states(id)? {
        for what in ["verifier", "nonce"] {
            keychain.delete(&crate::flows::pending_secret_account(id, &state, what))?;
        }
    }
    store.remove_environment(id)?;
    Ok(())
}

/// The Demo environment: the sandbox running in this process.
#[derive(Debug)]
pub struct Demo {
    pub sandbox: RunningSandbox,
    pub settings: EnvironmentSettings,
}

impl Demo {
    /// Starts the sandbox on a free loopback port (keeping its world in `data_dir`, when given,
    /// so Demo connections survive a restart) and records the Demo environment.
    pub async fn start(
        store: &Store,
        data_dir: Option<PathBuf>,
        now: DateTime<Utc>,
    ) -> Result<Self, EnvironmentError> {
        let demo = Self::launch(data_dir, 0).await?;
        demo.record(store, now)?;
        Ok(demo)
    }

    /// Starts the sandbox on loopback `port` when it is free (so links and pending
    /// authorizations from an earlier run still point at it), else on any free port. Nothing
    /// is recorded until [`Demo::record`].
    pub async fn launch(data_dir: Option<PathBuf>, port: u16) -> Result<Self, EnvironmentError> {
        let config = |port: u16| SandboxConfig {
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            data_dir: data_dir.clone(),
            ..SandboxConfig::default()
        };
        let started = match RunningSandbox::start(config(port)).await {
            Err(_) if port != 0 => RunningSandbox::start(config(0)).await,
            other => other,
        };
        let sandbox = started.map_err(|err| {
            EnvironmentError::Moneyhub(moneyhub::Error::Discovery(format!(
                "the demo sandbox did not start: {err}"
            )))
        })?;
        let settings = EnvironmentSettings {
            id: DEMO.into(),
            kind: EnvironmentKind::Demo,
            name: "Demo".into(),
            identity_url: sandbox.identity_url(),
            api_url: sandbox.api_url(),
            client_id: DEMO_CLIENT_ID.into(),
            auth: AuthKind::ClientSecretBasic,
            signed_request_objects: false,
            redirect_uri: DEMO_REDIRECT_URI.into(),
            hybrid_response: false,
        };
        Ok(Self { sandbox, settings })
    }

    /// Records the Demo environment (its URLs change with the port). Its client secret is the
    /// built-in one, public in the sandbox's source and in no way the person's, so it is not
    /// put in the keychain: opening Demo never waits for the keychain.
    pub fn record(&self, store: &Store, now: DateTime<Utc>) -> Result<(), EnvironmentError> {
        save_settings(store, &self.settings, now)
    }
}

/// The Demo client judges time by the sandbox's clock, so the presenter's time travel moves
/// the whole app (health, countdowns, cooldowns) with it.
#[derive(Debug)]
pub struct SandboxTime(pub Arc<moneyhub_sandbox::Shared>);

impl moneyhub::Environment for SandboxTime {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
    fn fill_random(&self, buf: &mut [u8]) {
        moneyhub::SystemEnvironment.fill_random(buf);
    }
}
