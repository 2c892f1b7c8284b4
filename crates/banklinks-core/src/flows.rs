//! One profile's operations (a Moneyhub user in one environment), each in its own room:
//! `refresh` (Moneyhub into the store), `authorization` (begin, complete, cancel, pending),
//! `sync` (manual syncs, the queue, removal), `views` (the dashboard and detail with each
//! connection's health and action checks, read from the store alone) and `export`.
//!
//! This file holds what they share: the profile's identity, the store and keychain handles,
//! one-operation-per-connection claims and the event channel. The fields are private: the app
//! reaches a profile only through `Workspace`. The store is synchronous (SQLite); it is locked
//! only between awaits, never across one. Secrets of pending authorizations (PKCE verifier,
//! nonce) go to the keychain; the store keeps the rest.

mod authorization;
mod export;
mod refresh;
mod sync;
mod views;

pub(crate) use authorization::pending_secret_account;
pub use authorization::{Changes, Connected, PendingView};
pub use export::ExportFormat;
pub use sync::{QueueRun, SyncOrQueue};
pub use views::{ConnectionDetail, ConnectionView, TransactionPage};

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use moneyhub::Moneyhub;
use serde::Serialize;

use crate::journal::AuthorizationPurpose;
use crate::keychain::{KeychainError, SecretStore};
pub(crate) use crate::locks::lock;
use crate::store::{Store, StoreError};

/// Pending authorizations expire after this long.
pub const PENDING_LIFETIME: Duration = Duration::minutes(10);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    #[error(transparent)]
    Moneyhub(#[from] moneyhub::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    /// A manual sync asked for before it is allowed; the time it will be is on the connection's
    /// action check, worded by the UI in the person's own time zone.
    #[error("Moneyhub does not allow another sync of this connection yet")]
    SyncNotYet(DateTime<Utc>),
    /// The callback belongs to no pending authorization (expired, cancelled, used or forged).
    #[error("this callback does not match an authorization in progress")]
    NoSuchAuthorization,
    /// The same callback again, while or just after it completed (a double click on the bank's
    /// last button, two browser tabs): the first delivery is the one that counts.
    #[error("this bank answer was already received; nothing more to do")]
    AlreadyHandled,
    #[error("the secrets of this authorization are missing from the keychain")]
    SecretsMissing,
    /// Something is already running on this connection; this request was not queued.
    #[error("an operation on {0} is already running")]
    Busy(String),
    #[error("there is no connection {0} in this profile")]
    NoSuchConnection(String),
    /// The connection's action check refuses it (the words come from its typed reason).
    #[error("{0}")]
    NotAllowed(String),
    /// Moneyhub answers 404 for the profile's user: it was deleted outside Banklinks.
    #[error(
        "Moneyhub no longer has this profile's user (it was deleted outside Banklinks); what was saved here stays. Create a new Moneyhub user, or remove this profile."
    )]
    UserGone,
}

#[derive(Debug)]
pub struct Flows {
    client: Moneyhub,
    store: Arc<Mutex<Store>>,
    keychain: Arc<dyn SecretStore>,
    /// Keychain accounts are namespaced by environment.
    environment: String,
    profile: String,
    user_id: String,
    /// Connections with an operation running: a second click is answered, not queued.
    busy: Mutex<HashSet<String>>,
    events: tokio::sync::broadcast::Sender<FlowEvent>,
    /// Banks whose provider reports problems (from the institution list), by bank id.
    degraded_banks: Mutex<HashSet<String>>,
    /// The states of authorizations this session claimed lately, so a second delivery of the
    /// same callback is known for what it is (bounded; kept in memory only).
    claimed: Mutex<std::collections::VecDeque<(String, DateTime<Utc>)>>,
}

/// What the flows tell the UI as they go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum FlowEvent {
    /// Who, where or when changed: the profile, the environment, the Demo server going on or off
    /// line, or the environment's clock moving other than with the wall clock (a Demo time jump).
    /// The app overview is worth reading again.
    OverviewChanged,
    /// The profile's connections were fetched again.
    ConnectionsRefreshed,
    /// Transactions saved so far for a connection during a refresh.
    HistoryProgress {
        connection_id: String,
        transactions: u32,
    },
    /// An authorization completed; `purpose` says what the person went to the bank for.
    Connected {
        connection_id: String,
        previous_connection_id: Option<String>,
        purpose: AuthorizationPurpose,
    },
    /// Moneyhub accepted a sync; while it runs in the background the view's `syncingSince` is
    /// set.
    SyncRequested { connection_id: String },
    /// A sync finished and its connection was refreshed: how it ended, in words, and whether
    /// that was a failure; the transactions that arrived.
    SyncFinished {
        connection_id: String,
        text: String,
        failed: bool,
        new_transactions: u32,
    },
    /// A queued "sync as soon as allowed" was added, moved, run or dropped.
    SyncQueueChanged,
    /// A pending authorization ran out before the bank sent the person back.
    AuthorizationExpired {
        state: String,
        connection_id: Option<String>,
        purpose: AuthorizationPurpose,
    },
    ConnectionRemoved {
        connection_id: String,
        accounts: u32,
        transactions: u32,
    },
}

/// Marks a connection busy until dropped.
struct Busy<'a> {
    set: &'a Mutex<HashSet<String>>,
    id: String,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        lock(self.set).remove(&self.id);
    }
}

impl Flows {
    pub fn new(
        client: Moneyhub,
        store: Arc<Mutex<Store>>,
        keychain: Arc<dyn SecretStore>,
        environment: String,
        profile: String,
        user_id: String,
    ) -> Self {
        let (events, _) = tokio::sync::broadcast::channel(256);
        Self {
            client,
            store,
            keychain,
            environment,
            profile,
            user_id,
            busy: Mutex::default(),
            events,
            degraded_banks: Mutex::default(),
            claimed: Mutex::default(),
        }
    }

    /// Sends events to `sender` (one channel for the app, whichever profile is active).
    pub fn with_events(mut self, sender: tokio::sync::broadcast::Sender<FlowEvent>) -> Self {
        self.events = sender;
        self
    }

    /// Which banks' providers report problems, so health can say so.
    pub fn set_degraded_banks(&self, banks: HashSet<String>) {
        *lock(&self.degraded_banks) = banks;
    }

    fn provider_degraded(&self, connection: &str) -> bool {
        let bank = connection.split(':').next().unwrap_or(connection);
        lock(&self.degraded_banks).contains(bank)
    }

    /// Events as the flows run; a slow listener misses old ones rather than stalling the flows.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<FlowEvent> {
        self.events.subscribe()
    }

    pub fn profile(&self) -> &str {
        &self.profile
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub(crate) fn client(&self) -> &Moneyhub {
        &self.client
    }

    #[cfg(test)]
    pub(crate) fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// A setting of this profile's (the key names the profile), from the store.
    pub(crate) fn profile_setting(&self, name: &str) -> Result<Option<String>, FlowError> {
        Ok(lock(&self.store).setting(&format!("{name}:{}", self.profile))?)
    }

    pub(crate) fn set_profile_setting(&self, name: &str, value: &str) -> Result<(), FlowError> {
        Ok(lock(&self.store).set_setting(&format!("{name}:{}", self.profile), value)?)
    }

    pub(crate) fn emit(&self, event: FlowEvent) {
        let _ = self.events.send(event);
    }

    fn claim(&self, connection: &str) -> Result<Busy<'_>, FlowError> {
        let mut busy = lock(&self.busy);
        if !busy.insert(connection.to_string()) {
            return Err(FlowError::Busy(connection.to_string()));
        }
        Ok(Busy {
            set: &self.busy,
            id: connection.to_string(),
        })
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.client.now_for_flows()
    }
}
