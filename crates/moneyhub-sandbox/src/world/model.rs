//! The records the world holds (users, connections, accounts, transactions, sync history,
//! webhook events) and their snapshot form. Plain data with serde shapes for persistence; the
//! rules that change them live in the sibling modules.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use uuid::Uuid;

use crate::catalogue::{ConnectionType, Script};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Error,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionError {
    Resync,
    SyncError,
    SyncPartial,
    MfaRequired,
    CredentialsError,
    /// A code Moneyhub's published docs do not list: Moneyhub adds codes without notice, and a
    /// client must treat one it has not seen as a problem, not as health.
    ProviderError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExtendedStatus {
    Expired,
    StoppedSyncing,
    /// Not in the published docs either (see [`ConnectionError::ProviderError`]).
    Suspended,
}

/// Program-lifetime text. An alias so serde's derive does not try to borrow it from the input
/// (see the `interned` module).
pub type StaticText = &'static str;

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct User {
    pub id: String,
    pub client_id: String,
    pub client_user_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Connection {
    pub id: String,
    pub user_id: String,
    pub bank_id: String,
    pub name: String,
    pub kind: ConnectionType,
    pub connected_on: DateTime<Utc>,
    pub last_updated: Option<DateTime<Utc>>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub user_consented_at: DateTime<Utc>,
    pub account_ids: Vec<Uuid>,
    pub status: Status,
    pub error: Option<ConnectionError>,
    pub extended_status: Option<ExtendedStatus>,
    pub tpp_consent: bool,
    pub single_sync_only: bool,
    pub use_mfa: bool,
    pub script: Script,
    /// An error the admin API forced; it sticks until the user's fix (reauth/refresh/reconsent).
    pub forced_error: Option<ConnectionError>,
    /// Data is fetched up to this instant.
    pub fetched_until: DateTime<Utc>,
    /// The earliest day fetched so far, and when the rest of the history arrives.
    pub history_from: NaiveDate,
    pub history_due: Option<DateTime<Utc>>,
    pub history_months: u32,
    pub failing_since: Option<DateTime<Utc>>,
    pub manual_syncs: Vec<DateTime<Utc>>,
    pub sync_attempts: u32,
    /// Single-sync-only connections wait for a refresh after their one sync.
    pub awaiting_user: bool,
    /// The user fixed what the bank's script broke (a reauth after the credentials error).
    pub script_resolved: bool,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Account {
    pub id: Uuid,
    pub connection_id: String,
    pub user_id: String,
    pub name: String,
    #[serde(with = "interned")]
    pub account_type: StaticText,
    pub provider_name: String,
    pub provider_reference: String,
    pub provider_id: String,
    pub provider_account_id: String,
    pub seed: u64,
    pub opening_balance: i64,
    pub opening_date: NaiveDate,
    pub date_added: DateTime<Utc>,
    pub date_modified: DateTime<Utc>,
    /// (date, balance in minor units) after each successful sync, oldest first.
    pub balances: Vec<(NaiveDate, i64)>,
    /// The days whose transactions have been fetched (always one unbroken range).
    #[serde(default)]
    pub fetched: Option<(NaiveDate, NaiveDate)>,
    /// The balance at the end of a day, carried forward so balances come from the bank's whole
    /// history, not from how much of it has been fetched yet.
    #[serde(default)]
    pub running_balance: Option<(NaiveDate, i64)>,
    pub business: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionStatus {
    Posted,
    Pending,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Transaction {
    pub id: Uuid,
    pub account_id: Uuid,
    pub date: NaiveDate,
    pub amount: i64,
    #[serde(with = "interned")]
    pub description: StaticText,
    #[serde(with = "interned")]
    pub category: StaticText,
    pub status: TransactionStatus,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FetchStatus {
    Success,
    Error,
    Partial,
    MfaRequired,
    CredentialsError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncAction {
    AutoUpdate,
    ClientUpdate,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SyncRecord {
    pub id: Uuid,
    pub connection_id: String,
    pub user_id: String,
    pub action: SyncAction,
    #[serde(with = "interned")]
    pub method: StaticText,
    /// Meaningful once `fetched_at` is set.
    pub fetch_status: FetchStatus,
    pub created_at: DateTime<Utc>,
    pub account_ids: Vec<Uuid>,
    /// When the sync finished; `None` while an asynchronous one runs. (Snapshots from before
    /// asynchronous syncs have none, and every sync in them had finished.)
    #[serde(default)]
    pub fetched_at: Option<DateTime<Utc>>,
    /// When a running asynchronous sync finishes.
    #[serde(default)]
    pub completes_at: Option<DateTime<Utc>>,
    /// `customerIpAddress` sent with a manual sync: it tells Moneyhub (and the bank) that the
    /// customer is present, which an unattended sync must not claim. Kept so tests can tell.
    #[serde(default)]
    pub customer_ip: Option<std::net::IpAddr>,
}

impl SyncRecord {
    pub fn running(&self) -> bool {
        self.fetched_at.is_none() && self.completes_at.is_some()
    }
}

/// Why a manual sync was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncRefusal {
    NotFound,
    /// Too soon after the last one, or over the provider's daily cap.
    RateLimited {
        retry_after: Duration,
    },
    ConsentExpired,
    ProviderUnavailable,
}

/// What the user chose in a bank journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Indexes into the institution's account types.
    pub accounts: Vec<usize>,
}

/// A webhook Moneyhub would send: `{id, eventType, userId, payload}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    pub id: Uuid,
    pub event_type: &'static str,
    pub user_id: String,
    pub payload: serde_json::Value,
}

/// Everything needed to bring a world back after a restart (the catalogue is rebuilt; journeys
/// in progress and unexchanged codes are not kept).
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub seed: u64,
    pub sync_window_secs: i64,
    pub rng: ChaCha8Rng,
    pub users: Vec<User>,
    pub connections: Vec<Connection>,
    pub accounts: Vec<Account>,
    pub transactions: Vec<Transaction>,
    pub syncs: Vec<SyncRecord>,
    pub caught_up_to: DateTime<Utc>,
    /// Absent from snapshots written before regular transactions were announced.
    #[serde(default)]
    pub regular_announced: std::collections::BTreeMap<Uuid, NaiveDate>,
}

pub fn is_slow_account(account_type: &str) -> bool {
    account_type.starts_with("properties:")
        || account_type == "asset"
        || account_type.starts_with("mortgage:")
        || account_type == "loan"
}

/// Text that lives for the whole program (descriptions, categories, account types) written out
/// as plain strings and read back into one shared copy each.
mod interned {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};

    use serde::{Deserialize, Deserializer, Serializer};

    /// A snapshot with more distinct texts than this is not one the sandbox wrote.
    const LIMIT: usize = 10_000;

    pub fn serialize<S: Serializer>(
        value: &&'static str,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<&'static str, D::Error> {
        static TABLE: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let text = String::deserialize(deserializer)?;
        let mut table = TABLE
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(known) = table.get(text.as_str()) {
            return Ok(known);
        }
        if table.len() >= LIMIT {
            return Err(serde::de::Error::custom(
                "too many distinct texts in the snapshot",
            ));
        }
        let leaked: &'static str = Box::leak(text.into_boxed_str());
        table.insert(leaked);
        Ok(leaked)
    }
}
