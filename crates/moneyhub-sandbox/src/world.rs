//! The simulated Moneyhub: users, connections, accounts, transactions and sync history, moved
//! along by the clock. Everything here is synchronous and deterministic for a given seed and
//! sequence of calls; the HTTP layers lock the world, call one operation and answer.
//!
//! Time only moves forward. Before answering anything the world catches up to the clock's "now"
//! ([`World::catch_up`]): scheduled automatic syncs run in order (UK time), background history
//! arrives, consents expire and the seed documents' rules (`resync` after 2 or 40 days without
//! data, `stoppedSyncing` after 3 days of failures) apply.

pub mod generator;
mod schedule;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use uuid::Uuid;

use crate::catalogue::{Catalogue, ConnectionType, Institution, Script};

pub use schedule::next_automatic_sync;

/// Consents last 90 days at most.
pub const MAX_CONSENT: Duration = Duration::days(90);
/// Background history arrives this long after a connection is made.
pub const BACKGROUND_HISTORY_DELAY: Duration = Duration::minutes(2);
/// How long transactions stay pending before they post.
const PENDING_FOR: Duration = Duration::days(2);
/// Moneyhub stops retrying after this long of failures (`stoppedSyncing`).
const STOP_RETRYING_AFTER: Duration = Duration::days(3);

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExtendedStatus {
    Expired,
    StoppedSyncing,
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
    pub fetch_status: FetchStatus,
    pub created_at: DateTime<Utc>,
    pub account_ids: Vec<Uuid>,
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

#[derive(Debug)]
pub struct World {
    pub seed: u64,
    pub catalogue: Catalogue,
    pub sync_window: Duration,
    rng: ChaCha8Rng,
    pub users: BTreeMap<String, User>,
    pub connections: BTreeMap<String, Connection>,
    pub accounts: BTreeMap<Uuid, Account>,
    pub transactions: HashMap<Uuid, Transaction>,
    /// Transaction ids per account, oldest first.
    pub transactions_by_account: HashMap<Uuid, Vec<Uuid>>,
    /// Pending transaction ids per account, until they post.
    pending: HashMap<Uuid, Vec<Uuid>>,
    pub syncs: Vec<SyncRecord>,
    caught_up_to: DateTime<Utc>,
    /// The earliest instant at which anything scheduled happens; `None` after a change, until the
    /// next catch-up works it out. Lets a request skip the catch-up when nothing is due, which
    /// keeps reads cheap on a large world.
    next_due: Option<DateTime<Utc>>,
    /// Webhook events not yet delivered (delivery is the server's job).
    pub outbox: Vec<WebhookEvent>,
    /// Goes up on every change, so the server knows when to save a snapshot.
    pub revision: u64,
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
}

impl World {
    pub fn new(seed: u64, now: DateTime<Utc>, sync_window: Duration) -> Self {
        Self {
            seed,
            catalogue: Catalogue::default(),
            sync_window,
            rng: ChaCha8Rng::seed_from_u64(seed),
            users: BTreeMap::new(),
            connections: BTreeMap::new(),
            accounts: BTreeMap::new(),
            transactions: HashMap::new(),
            transactions_by_account: HashMap::new(),
            pending: HashMap::new(),
            syncs: Vec::new(),
            caught_up_to: now,
            next_due: None,
            outbox: Vec::new(),
            revision: 0,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut transactions: Vec<Transaction> = self.transactions.values().cloned().collect();
        transactions.sort_by_key(|t| (t.account_id, t.date, t.id));
        Snapshot {
            seed: self.seed,
            sync_window_secs: self.sync_window.num_seconds(),
            rng: self.rng.clone(),
            users: self.users.values().cloned().collect(),
            connections: self.connections.values().cloned().collect(),
            accounts: self.accounts.values().cloned().collect(),
            transactions,
            syncs: self.syncs.clone(),
            caught_up_to: self.caught_up_to,
        }
    }

    pub fn restore(snapshot: Snapshot) -> Self {
        let mut world = World::new(
            snapshot.seed,
            snapshot.caught_up_to,
            Duration::seconds(snapshot.sync_window_secs),
        );
        world.rng = snapshot.rng;
        world.users = snapshot
            .users
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        world.connections = snapshot
            .connections
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        world.accounts = snapshot.accounts.into_iter().map(|a| (a.id, a)).collect();
        for transaction in snapshot.transactions {
            world
                .transactions_by_account
                .entry(transaction.account_id)
                .or_default()
                .push(transaction.id);
            if transaction.status == TransactionStatus::Pending {
                world
                    .pending
                    .entry(transaction.account_id)
                    .or_default()
                    .push(transaction.id);
            }
            world.transactions.insert(transaction.id, transaction);
        }
        for account in world.accounts.keys() {
            world.transactions_by_account.entry(*account).or_default();
        }
        world.syncs = snapshot.syncs;
        world
    }

    pub fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    /// 24 hex digits, like Moneyhub's (Mongo) user ids.
    fn user_id(&mut self) -> String {
        let bytes: [u8; 12] = self.rng.random();
        hex::encode(bytes)
    }

    pub fn random_token(&mut self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.rng.fill(buf.as_mut_slice());
        hex::encode(buf)
    }

    pub fn random_range(&mut self, range: std::ops::Range<u32>) -> u32 {
        self.rng.random_range(range)
    }

    pub fn create_user(
        &mut self,
        client_id: &str,
        client_user_id: Option<String>,
        now: DateTime<Utc>,
    ) -> User {
        let user = User {
            id: self.user_id(),
            client_id: client_id.to_string(),
            client_user_id,
            created_at: now,
        };
        self.users.insert(user.id.clone(), user.clone());
        self.revision += 1;
        user
    }

    pub fn user_connections(&self, user_id: &str) -> impl Iterator<Item = &Connection> {
        self.connections
            .values()
            .filter(move |connection| connection.user_id == user_id)
    }

    /// Creates a connection, as the code exchange at the end of a bank journey does, and fetches
    /// its first 1–3 months of data; the rest arrives [`BACKGROUND_HISTORY_DELAY`] later.
    pub fn create_connection(
        &mut self,
        user_id: &str,
        bank_id: &str,
        selection: &Selection,
        consent_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        self.next_due = None;
        self.revision += 1;
        let institution = self.catalogue.get(bank_id)?.clone();
        if !self.users.contains_key(user_id) {
            return None;
        }
        let id = format!("{}:{}", institution.id, self.uuid());
        let initial_months = self.rng.random_range(1..=3).min(institution.history_months);
        let history_from = months_before(now.date_naive(), initial_months);
        let default_expiry = match institution.script {
            Script::ConsentExpiresIn3Days => now + Duration::days(3),
            _ => now + MAX_CONSENT,
        };
        let expires_at = consent_until.map_or(default_expiry, |until| until.min(now + MAX_CONSENT));
        let connection = Connection {
            id: id.clone(),
            user_id: user_id.to_string(),
            bank_id: institution.id.clone(),
            name: institution.name.to_string(),
            kind: institution.kind,
            connected_on: now,
            last_updated: None,
            last_synced_at: None,
            expires_at,
            user_consented_at: now,
            account_ids: Vec::new(),
            status: Status::Never,
            error: None,
            extended_status: None,
            // A consent whose end the client chose cannot be renewed by reconsent.
            tpp_consent: institution.tpp_consent && consent_until.is_none(),
            single_sync_only: institution.script == Script::SingleSyncOnly,
            use_mfa: institution.script == Script::LegacyMfa,
            script: institution.script,
            forced_error: None,
            fetched_until: now,
            history_from,
            history_due: (initial_months < institution.history_months)
                .then(|| now + BACKGROUND_HISTORY_DELAY),
            history_months: institution.history_months,
            failing_since: None,
            manual_syncs: Vec::new(),
            sync_attempts: 0,
            awaiting_user: false,
            script_resolved: false,
        };
        self.connections.insert(id.clone(), connection);
        self.add_accounts(&id, &institution, selection, now);
        self.fetch_range(&id, history_from, now);
        self.record_sync(
            &id,
            SyncAction::ClientUpdate,
            "ADD",
            FetchStatus::Success,
            now,
        );
        if let Some(connection) = self.connections.get_mut(&id) {
            connection.status = Status::Ok;
            connection.last_updated = Some(now);
            connection.last_synced_at = Some(now);
            connection.awaiting_user = connection.single_sync_only;
        }
        Some(id)
    }

    fn add_accounts(
        &mut self,
        connection_id: &str,
        institution: &Institution,
        selection: &Selection,
        now: DateTime<Utc>,
    ) {
        let Some(user_id) = self
            .connections
            .get(connection_id)
            .map(|c| c.user_id.clone())
        else {
            return;
        };
        for &index in &selection.accounts {
            let Some(&account_type) = institution.account_types.get(index) else {
                continue;
            };
            let id = self.uuid();
            let seed: u64 = self.rng.random();
            let opening_date = months_before(now.date_naive(), institution.history_months);
            let account = Account {
                id,
                connection_id: connection_id.to_string(),
                user_id: user_id.clone(),
                name: account_name(institution, account_type),
                account_type,
                provider_name: institution.name.to_string(),
                provider_reference: institution.bank_ref.to_string(),
                provider_id: institution.id.clone(),
                provider_account_id: format!(
                    "{:08}",
                    self.rng.random_range(10_000_000..99_999_999)
                ),
                seed,
                opening_balance: generator::opening_balance(self.seed, seed, account_type),
                opening_date,
                date_added: now,
                date_modified: now,
                balances: Vec::new(),
                fetched: None,
                running_balance: None,
                business: institution.business,
            };
            self.accounts.insert(id, account);
            self.transactions_by_account.insert(id, Vec::new());
            if let Some(connection) = self.connections.get_mut(connection_id) {
                connection.account_ids.push(id);
            }
        }
    }

    /// Adds the generated transactions dated `from..=until` to every account of the connection
    /// (days already fetched are skipped), posts pending ones that have aged, and records balances.
    fn fetch_range(&mut self, connection_id: &str, from: NaiveDate, until: DateTime<Utc>) {
        let Some(connection) = self.connections.get(connection_id) else {
            return;
        };
        let account_ids = connection.account_ids.clone();
        let until_day = until.date_naive();
        for account_id in account_ids {
            let Some(account) = self.accounts.get(&account_id) else {
                continue;
            };
            let (seed, account_type, business, fetched) = (
                account.seed,
                account.account_type,
                account.business,
                account.fetched,
            );
            let mut fresh = Vec::new();
            let mut day = from;
            while day <= until_day {
                // A day is fetched whole, once.
                let known = fetched.is_some_and(|(first, last)| day >= first && day <= last);
                if !known {
                    for generated in
                        generator::transactions_on(self.seed, seed, account_type, business, day)
                    {
                        let status = if until - day_noon(day) < PENDING_FOR {
                            TransactionStatus::Pending
                        } else {
                            TransactionStatus::Posted
                        };
                        fresh.push(Transaction {
                            id: Uuid::nil(),
                            account_id,
                            date: day,
                            amount: generated.amount,
                            description: generated.description,
                            category: generated.category,
                            status,
                            created: until,
                            modified: until,
                        });
                    }
                }
                match day.succ_opt() {
                    Some(next) => day = next,
                    None => break,
                }
            }
            let mut added = Vec::with_capacity(fresh.len());
            for mut transaction in fresh {
                transaction.id = self.uuid();
                added.push(transaction.id);
                self.transactions_by_account
                    .entry(account_id)
                    .or_default()
                    .push(transaction.id);
                if transaction.status == TransactionStatus::Pending {
                    self.pending
                        .entry(account_id)
                        .or_default()
                        .push(transaction.id);
                }
                self.transactions.insert(transaction.id, transaction);
            }
            if !added.is_empty() {
                self.announce_transactions(connection_id, account_id, &added);
            }
            self.post_aged_pending(account_id, until);
            if let Some(ids) = self.transactions_by_account.get_mut(&account_id) {
                let transactions = &self.transactions;
                ids.sort_by_key(|id| transactions.get(id).map(|t| (t.date, t.id)));
            }
            let balance = self.balance_through(account_id, until_day);
            if let Some(account) = self.accounts.get_mut(&account_id) {
                account.fetched = Some(match account.fetched {
                    Some((first, last)) => (first.min(from), last.max(until_day)),
                    None => (from, until_day),
                });
                account.date_modified = until;
                match account.balances.last_mut() {
                    Some((date, value)) if *date == until_day => *value = balance,
                    _ => account.balances.push((until_day, balance)),
                }
            }
        }
        if let Some(connection) = self.connections.get_mut(connection_id) {
            connection.history_from = connection.history_from.min(from);
            connection.fetched_until = until.max(connection.fetched_until);
        }
    }

    /// Moneyhub matches a posted transaction to its pending one and keeps the id.
    fn post_aged_pending(&mut self, account_id: Uuid, now: DateTime<Utc>) {
        let Some(mut pending) = self.pending.remove(&account_id) else {
            return;
        };
        pending.retain(|id| match self.transactions.get_mut(id) {
            Some(transaction) if now - day_noon(transaction.date) >= PENDING_FOR => {
                transaction.status = TransactionStatus::Posted;
                transaction.modified = now;
                false
            }
            Some(_) => true,
            None => false,
        });
        if !pending.is_empty() {
            self.pending.insert(account_id, pending);
        }
    }

    /// The account's balance at the end of `day`, from the bank's side: the opening balance
    /// plus every transaction since the account opened, fetched or not.
    pub fn balance_through(&mut self, account_id: Uuid, day: NaiveDate) -> i64 {
        let seed = self.seed;
        let Some(account) = self.accounts.get_mut(&account_id) else {
            return 0;
        };
        let start = match account.running_balance {
            Some((known_day, value)) if known_day <= day => (known_day, value),
            _ => (
                account
                    .opening_date
                    .pred_opt()
                    .unwrap_or(account.opening_date),
                account.opening_balance,
            ),
        };
        let (mut cursor, mut value) = start;
        while cursor < day {
            let Some(next) = cursor.succ_opt() else { break };
            cursor = next;
            value += generator::transactions_on(
                seed,
                account.seed,
                account.account_type,
                account.business,
                cursor,
            )
            .iter()
            .map(|t| t.amount)
            .sum::<i64>();
        }
        account.running_balance = Some((cursor, value));
        value
    }

    fn emit(&mut self, event_type: &'static str, user_id: &str, payload: serde_json::Value) {
        let id = self.uuid();
        self.outbox.push(WebhookEvent {
            id,
            event_type,
            user_id: user_id.to_string(),
            payload,
        });
    }

    /// Moneyhub sends transaction webhooks per account, at most 6000 ids each.
    fn announce_transactions(&mut self, connection_id: &str, account_id: Uuid, ids: &[Uuid]) {
        let Some(user_id) = self
            .connections
            .get(connection_id)
            .map(|c| c.user_id.clone())
        else {
            return;
        };
        for chunk in ids.chunks(6000) {
            self.emit(
                "newTransactions",
                &user_id,
                serde_json::json!({ "accounts": [{ "id": account_id, "transactions": chunk }] }),
            );
        }
    }

    fn record_sync(
        &mut self,
        connection_id: &str,
        action: SyncAction,
        method: &'static str,
        status: FetchStatus,
        now: DateTime<Utc>,
    ) -> Uuid {
        let id = self.uuid();
        let (user_id, account_ids) = self
            .connections
            .get(connection_id)
            .map(|c| (c.user_id.clone(), c.account_ids.clone()))
            .unwrap_or_default();
        let processing_status = match status {
            FetchStatus::Success | FetchStatus::Partial => "success",
            _ => "error",
        };
        self.emit(
            "syncCompleted",
            &user_id,
            serde_json::json!({
                "completedAt": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "processingStatus": processing_status,
                "syncId": id,
                "connectionId": connection_id,
            }),
        );
        self.syncs.push(SyncRecord {
            id,
            connection_id: connection_id.to_string(),
            user_id,
            action,
            method,
            fetch_status: status,
            created_at: now,
            account_ids,
        });
        id
    }

    /// What a sync attempt of this connection yields now, from its script and state.
    fn sync_outcome(
        &self,
        connection: &Connection,
        action: SyncAction,
        now: DateTime<Utc>,
    ) -> FetchStatus {
        if now >= connection.expires_at {
            return FetchStatus::Error;
        }
        if let Some(forced) = connection.forced_error {
            return fetch_status_for(forced);
        }
        match connection.script {
            Script::Healthy
            | Script::ConsentExpiresIn3Days
            | Script::NewIdOnReauth
            | Script::FourSyncsADay => FetchStatus::Success,
            Script::SingleSyncOnly => {
                if connection.awaiting_user {
                    FetchStatus::MfaRequired
                } else {
                    FetchStatus::Success
                }
            }
            Script::LegacyMfa => {
                if action == SyncAction::AutoUpdate {
                    FetchStatus::MfaRequired
                } else {
                    FetchStatus::Success
                }
            }
            Script::CredentialsError => {
                let broken = action == SyncAction::AutoUpdate
                    || connection.error == Some(ConnectionError::CredentialsError);
                if broken && !connection.script_resolved {
                    FetchStatus::CredentialsError
                } else {
                    FetchStatus::Success
                }
            }
            Script::IntermittentErrors => {
                if connection.sync_attempts % 2 == 1 {
                    FetchStatus::Error
                } else {
                    FetchStatus::Success
                }
            }
            Script::PartialSync => FetchStatus::Partial,
            Script::Unavailable => FetchStatus::Error,
        }
    }

    /// One sync attempt: `lastSyncedAt` always moves, `lastUpdated` only when data came.
    pub fn run_sync(
        &mut self,
        connection_id: &str,
        action: SyncAction,
        now: DateTime<Utc>,
    ) -> Option<(Uuid, FetchStatus)> {
        self.next_due = None;
        self.revision += 1;
        let connection = self.connections.get(connection_id)?;
        let outcome = self.sync_outcome(connection, action, now);
        let expired = now >= connection.expires_at;
        if matches!(outcome, FetchStatus::Success | FetchStatus::Partial) {
            let from = connection.fetched_until.date_naive();
            self.fetch_range(connection_id, from, now);
        }
        let sync_id = self.record_sync(connection_id, action, "UPDATE", outcome, now);
        let connection = self.connections.get_mut(connection_id)?;
        connection.sync_attempts += 1;
        connection.last_synced_at = Some(now);
        match outcome {
            FetchStatus::Success | FetchStatus::Partial => {
                connection.last_updated = Some(now);
                connection.status = Status::Ok;
                connection.error =
                    (outcome == FetchStatus::Partial).then_some(ConnectionError::SyncPartial);
                if connection.error.is_some() {
                    connection.status = Status::Error;
                }
                connection.failing_since = None;
                connection.extended_status = None;
                if connection.single_sync_only {
                    connection.awaiting_user = true;
                }
            }
            failure => {
                connection.status = Status::Error;
                connection.error = Some(match failure {
                    FetchStatus::MfaRequired => ConnectionError::MfaRequired,
                    FetchStatus::CredentialsError => ConnectionError::CredentialsError,
                    _ => ConnectionError::SyncError,
                });
                connection.failing_since.get_or_insert(now);
                if expired {
                    connection.extended_status = Some(ExtendedStatus::Expired);
                }
            }
        }
        Some((sync_id, outcome))
    }

    /// `POST /sync/{connectionId}`: rate limited per connection and by provider caps.
    pub fn manual_sync(
        &mut self,
        user_id: &str,
        connection_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(Uuid, FetchStatus), SyncRefusal> {
        let connection = self
            .connections
            .get(connection_id)
            .filter(|connection| connection.user_id == user_id)
            .ok_or(SyncRefusal::NotFound)?;
        if let Some(last) = connection.manual_syncs.last()
            && now - *last < self.sync_window
        {
            return Err(SyncRefusal::RateLimited {
                retry_after: self.sync_window - (now - *last),
            });
        }
        if let Some(cap) = self
            .catalogue
            .get(&connection.bank_id)
            .and_then(Institution::daily_sync_cap)
        {
            let today = schedule::uk_date(now);
            let used = connection
                .manual_syncs
                .iter()
                .filter(|at| schedule::uk_date(**at) == today)
                .count();
            if used >= cap as usize {
                return Err(SyncRefusal::RateLimited {
                    retry_after: schedule::next_uk_midnight(now) - now,
                });
            }
        }
        if now >= connection.expires_at {
            return Err(SyncRefusal::ConsentExpired);
        }
        if connection.script == Script::Unavailable && connection.forced_error.is_none() {
            if let Some(connection) = self.connections.get_mut(connection_id) {
                connection.manual_syncs.push(now);
                connection.last_synced_at = Some(now);
            }
            return Err(SyncRefusal::ProviderUnavailable);
        }
        if let Some(connection) = self.connections.get_mut(connection_id) {
            connection.manual_syncs.push(now);
        }
        self.run_sync(connection_id, SyncAction::ClientUpdate, now)
            .ok_or(SyncRefusal::NotFound)
    }

    /// Brings the world up to `now`: background history, scheduled syncs, expiry and the
    /// staleness rules, in time order per connection.
    pub fn catch_up(&mut self, now: DateTime<Utc>) {
        if now <= self.caught_up_to {
            return;
        }
        if self.next_due.is_some_and(|due| now < due) {
            self.caught_up_to = now;
            return;
        }
        let from = self.caught_up_to;
        self.revision += 1;
        let ids: Vec<String> = self.connections.keys().cloned().collect();
        for id in ids {
            self.catch_up_connection(&id, from, now);
        }
        self.caught_up_to = now;
        self.next_due = self
            .connections
            .values()
            .filter_map(|connection| self.next_event(connection, now))
            .min();
    }

    /// Forget the cached schedule; call after changing a connection from outside.
    pub fn invalidate_schedule(&mut self) {
        self.next_due = None;
        self.revision += 1;
    }

    /// When this connection next needs the world's attention after `now`.
    fn next_event(&self, connection: &Connection, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut events = Vec::with_capacity(5);
        events.extend(connection.history_due);
        if connection.expires_at > now {
            events.push(connection.expires_at);
        }
        let syncing = connection.extended_status.is_none() && !connection.awaiting_user;
        if syncing {
            events.extend(next_automatic_sync(
                connection.kind,
                connection.connected_on,
                now,
            ));
        }
        if let Some(updated) = connection.last_updated {
            let slow = connection
                .account_ids
                .iter()
                .filter_map(|a| self.accounts.get(a))
                .all(|a| is_slow_account(a.account_type));
            let threshold = if slow || connection.kind.is_valuation() {
                Duration::days(40)
            } else {
                Duration::days(2)
            };
            events.push(updated + threshold + Duration::seconds(1));
        }
        if let Some(since) = connection.failing_since {
            events.push(since + STOP_RETRYING_AFTER);
        }
        events.extend(reminder_points(connection).into_iter().map(|(at, _)| at));
        events.into_iter().filter(|at| *at > now).min()
    }

    fn catch_up_connection(&mut self, id: &str, from: DateTime<Utc>, now: DateTime<Utc>) {
        if let Some(due) = self.connections.get(id).and_then(|c| c.history_due)
            && due <= now
        {
            let (months, fetched_until) = self
                .connections
                .get(id)
                .map(|c| (c.history_months, c.fetched_until))
                .unwrap_or((12, now));
            let start = months_before(
                self.connections
                    .get(id)
                    .map_or(now, |c| c.connected_on)
                    .date_naive(),
                months,
            );
            // Only the missing older days: the fetch skips days it already has.
            self.fetch_range(id, start, fetched_until.min(due));
            if let Some(connection) = self.connections.get_mut(id) {
                connection.history_due = None;
            }
        }
        let mut cursor = from;
        loop {
            let Some(connection) = self.connections.get(id) else {
                return;
            };
            let syncing = connection.extended_status.is_none() && !connection.awaiting_user;
            let next = syncing
                .then(|| next_automatic_sync(connection.kind, connection.connected_on, cursor))
                .flatten()
                .filter(|next| *next <= now);
            let expires_at = connection.expires_at;
            let expiry_due =
                connection.extended_status != Some(ExtendedStatus::Expired) && expires_at <= now;
            let failing_since = connection.failing_since;
            let next = match next {
                // Syncs before the consent ends still happen; the first one after it fails.
                Some(next) if !expiry_due || next < expires_at => next,
                _ => {
                    if expiry_due {
                        self.expire(id, expires_at.max(from));
                    }
                    break;
                }
            };
            if let Some(since) = failing_since
                && next - since >= STOP_RETRYING_AFTER
            {
                if let Some(connection) = self.connections.get_mut(id) {
                    connection.extended_status = Some(ExtendedStatus::StoppedSyncing);
                }
                // Expiry still applies to a connection that stopped syncing.
                continue;
            }
            self.run_sync(id, SyncAction::AutoUpdate, next);
            cursor = next;
        }
        self.send_reminders(id, from, now);
        self.apply_staleness(id, now);
    }

    /// `reauthReminder` 5, 3 and 1 days before consent ends; `refreshReminder` every 2 days
    /// while a legacy connection cannot sync.
    fn send_reminders(&mut self, id: &str, from: DateTime<Utc>, now: DateTime<Utc>) {
        let Some(connection) = self.connections.get(id).cloned() else {
            return;
        };
        for (at, kind) in reminder_points(&connection) {
            if at <= from || at > now {
                continue;
            }
            let payload = match kind {
                Reminder::Reauth => serde_json::json!({
                    "connectionId": connection.id,
                    "bankName": connection.name,
                    "timeUntilReauthorizationInDays": (connection.expires_at - at).num_days(),
                    "tppConsent": connection.tpp_consent,
                }),
                Reminder::Refresh => serde_json::json!({
                    "connectionId": connection.id,
                    "bankName": connection.name,
                    "periodSinceLastUpdateInDays": connection.last_updated.map_or(0, |updated| (at - updated).num_days()),
                }),
            };
            let event = match kind {
                Reminder::Reauth => "reauthReminder",
                Reminder::Refresh => "refreshReminder",
            };
            self.emit(event, &connection.user_id, payload);
        }
    }

    fn expire(&mut self, id: &str, at: DateTime<Utc>) {
        self.record_sync(id, SyncAction::AutoUpdate, "UPDATE", FetchStatus::Error, at);
        if let Some(connection) = self.connections.get_mut(id) {
            connection.status = Status::Error;
            connection.error = Some(ConnectionError::SyncError);
            connection.extended_status = Some(ExtendedStatus::Expired);
            connection.last_synced_at = Some(at);
            connection.failing_since.get_or_insert(at);
        }
    }

    /// The seed's rule: `resync` once `lastUpdated` is more than 2 days old (40 for property,
    /// asset, mortgage and loan accounts), unless a more specific error already explains it.
    pub fn apply_staleness(&mut self, id: &str, now: DateTime<Utc>) {
        let slow = self
            .connections
            .get(id)
            .map(|c| {
                c.account_ids
                    .iter()
                    .filter_map(|a| self.accounts.get(a))
                    .all(|a| is_slow_account(a.account_type))
            })
            .unwrap_or(false);
        let Some(connection) = self.connections.get_mut(id) else {
            return;
        };
        let threshold = if slow || connection.kind.is_valuation() {
            Duration::days(40)
        } else {
            Duration::days(2)
        };
        let stale = connection
            .last_updated
            .is_some_and(|updated| now - updated > threshold);
        if stale
            && matches!(connection.error, None | Some(ConnectionError::SyncPartial))
            && connection.extended_status.is_none()
        {
            connection.status = Status::Error;
            connection.error = Some(ConnectionError::Resync);
        }
    }

    /// Reauth: a new consent and a fresh sync. A different account selection (or the scripted
    /// bank) gives the connection a new id; accounts still selected keep their history.
    pub fn reauth(
        &mut self,
        connection_id: &str,
        selection: &Selection,
        now: DateTime<Utc>,
    ) -> Option<String> {
        self.next_due = None;
        self.revision += 1;
        let connection = self.connections.get(connection_id)?.clone();
        let institution = self.catalogue.get(&connection.bank_id)?.clone();
        let current: Vec<usize> = connection
            .account_ids
            .iter()
            .filter_map(|id| self.accounts.get(id))
            .filter_map(|account| {
                institution
                    .account_types
                    .iter()
                    .position(|t| *t == account.account_type)
            })
            .collect();
        let mut wanted = selection.accounts.clone();
        wanted.sort_unstable();
        wanted.dedup();
        let mut have = current.clone();
        have.sort_unstable();
        let new_id = connection.script == Script::NewIdOnReauth || wanted != have;
        let id = if new_id {
            let id = format!("{}:{}", connection.bank_id, self.uuid());
            let mut moved = connection.clone();
            moved.id = id.clone();
            moved.account_ids.clear();
            self.connections.remove(connection_id);
            self.connections.insert(id.clone(), moved);
            for account_id in &connection.account_ids {
                let keep = self
                    .accounts
                    .get(account_id)
                    .and_then(|account| {
                        institution
                            .account_types
                            .iter()
                            .position(|t| *t == account.account_type)
                    })
                    .is_some_and(|index| wanted.contains(&index));
                if keep {
                    if let Some(account) = self.accounts.get_mut(account_id) {
                        account.connection_id = id.clone();
                    }
                    if let Some(moved) = self.connections.get_mut(&id) {
                        moved.account_ids.push(*account_id);
                    }
                } else {
                    self.remove_account(*account_id);
                }
            }
            let added: Vec<usize> = wanted
                .iter()
                .copied()
                .filter(|index| !current.contains(index))
                .collect();
            self.add_accounts(&id, &institution, &Selection { accounts: added }, now);
            // Newly shared accounts get the connection's history; the others skip known days.
            let history_from = connection.history_from;
            self.fetch_range(&id, history_from, now);
            for sync in &mut self.syncs {
                if sync.connection_id == connection_id {
                    sync.connection_id = id.clone();
                }
            }
            id
        } else {
            connection_id.to_string()
        };
        if let Some(connection) = self.connections.get_mut(&id) {
            connection.expires_at = now + MAX_CONSENT;
            connection.user_consented_at = now;
            connection.forced_error = None;
            connection.error = None;
            connection.extended_status = None;
            connection.failing_since = None;
            connection.awaiting_user = false;
            connection.tpp_consent = institution.tpp_consent;
            // New credentials fix the scripted credentials failure.
            connection.script_resolved = true;
        }
        self.run_sync(&id, SyncAction::ClientUpdate, now);
        Some(id)
    }

    /// Reconsent: no bank step; moves `expiresAt` (at most 90 days ahead) and resumes syncing.
    pub fn reconsent(
        &mut self,
        connection_id: &str,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<()> {
        self.next_due = None;
        self.revision += 1;
        let connection = self.connections.get_mut(connection_id)?;
        let until = until.map_or(now + MAX_CONSENT, |until| until.min(now + MAX_CONSENT));
        connection.expires_at = until;
        // Moneyhub reminds as soon as a consent is within 5 days of its end (its docs suggest
        // moving expiresAt close to test reauthReminder).
        if until > now && until - now <= Duration::days(5) {
            let payload = serde_json::json!({
                "connectionId": connection.id,
                "bankName": connection.name,
                "timeUntilReauthorizationInDays": (until - now).num_days(),
                "tppConsent": connection.tpp_consent,
            });
            let user_id = connection.user_id.clone();
            self.emit("reauthReminder", &user_id, payload);
        }
        let connection = self.connections.get_mut(connection_id)?;
        connection.user_consented_at = now;
        let was_expired = connection.extended_status == Some(ExtendedStatus::Expired);
        if was_expired {
            connection.extended_status = None;
            connection.error = None;
            connection.failing_since = None;
            connection.status = Status::Ok;
        }
        if was_expired {
            self.run_sync(connection_id, SyncAction::ClientUpdate, now);
        }
        Some(())
    }

    /// Refresh (legacy): the user answered the security step; sync now.
    pub fn refresh(&mut self, connection_id: &str, now: DateTime<Utc>) -> Option<()> {
        self.next_due = None;
        self.revision += 1;
        let connection = self.connections.get_mut(connection_id)?;
        connection.awaiting_user = false;
        connection.forced_error = connection
            .forced_error
            .filter(|e| *e != ConnectionError::MfaRequired);
        connection.extended_status = connection
            .extended_status
            .filter(|s| *s == ExtendedStatus::Expired);
        connection.failing_since = None;
        self.run_sync(connection_id, SyncAction::ClientUpdate, now);
        Some(())
    }

    /// Deletes a connection and all its data (accounts, transactions, sync history).
    pub fn delete_connection(&mut self, connection_id: &str) -> Option<Connection> {
        self.next_due = None;
        self.revision += 1;
        let connection = self.connections.remove(connection_id)?;
        for account_id in &connection.account_ids {
            self.remove_account(*account_id);
        }
        self.syncs
            .retain(|sync| sync.connection_id != connection_id);
        Some(connection)
    }

    fn remove_account(&mut self, account_id: Uuid) {
        self.accounts.remove(&account_id);
        for id in self
            .transactions_by_account
            .remove(&account_id)
            .unwrap_or_default()
        {
            self.transactions.remove(&id);
        }
    }

    pub fn delete_user(&mut self, user_id: &str) -> Option<User> {
        let user = self.users.remove(user_id)?;
        self.revision += 1;
        let connection_ids: Vec<String> = self
            .user_connections(user_id)
            .map(|c| c.id.clone())
            .collect();
        for id in connection_ids {
            self.delete_connection(&id);
        }
        Some(user)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reminder {
    Reauth,
    Refresh,
}

/// When the reminders for a connection fall (in its current state).
fn reminder_points(connection: &Connection) -> Vec<(DateTime<Utc>, Reminder)> {
    let mut points: Vec<(DateTime<Utc>, Reminder)> = [5, 3, 1]
        .into_iter()
        .map(|days| {
            (
                connection.expires_at - Duration::days(days),
                Reminder::Reauth,
            )
        })
        .filter(|(at, _)| *at > connection.connected_on)
        .collect();
    let stuck_since = match connection.kind {
        ConnectionType::Legacy => connection.failing_since,
        _ => None,
    };
    if let Some(since) = stuck_since {
        // Bounded: a stuck connection reminds every 2 days for at most 90 days.
        points.extend((1..=45).map(|n| (since + Duration::days(2 * n), Reminder::Refresh)));
    }
    points
}

fn fetch_status_for(error: ConnectionError) -> FetchStatus {
    match error {
        ConnectionError::MfaRequired => FetchStatus::MfaRequired,
        ConnectionError::CredentialsError => FetchStatus::CredentialsError,
        ConnectionError::SyncPartial => FetchStatus::Partial,
        ConnectionError::Resync | ConnectionError::SyncError => FetchStatus::Error,
    }
}

pub fn is_slow_account(account_type: &str) -> bool {
    account_type.starts_with("properties:")
        || account_type == "asset"
        || account_type.starts_with("mortgage:")
        || account_type == "loan"
}

fn account_name(institution: &Institution, account_type: &str) -> String {
    let kind = match account_type {
        "cash:current" => {
            if institution.business {
                "Business Current Account"
            } else {
                "Current Account"
            }
        }
        "savings" => "Easy Access Saver",
        "card" => "Credit Card",
        "loan" => "Personal Loan",
        "mortgage:repayment" | "mortgage:interestOnly" => "Mortgage",
        "pension" | "pension:definedContribution" => "Workplace Pension",
        "pension:definedBenefit" => "Final Salary Pension",
        "investment" => "Stocks and Shares ISA",
        "crypto" => "Crypto Wallet",
        "properties:residential" => "Home",
        "properties:buyToLet" => "Buy-to-let Flat",
        _ => "Car",
    };
    format!("{} {kind}", institution.name)
}

pub fn months_before(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(chrono::Months::new(months))
        .unwrap_or(date)
}

fn day_noon(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(12, 0, 0)
        .map_or_else(Utc::now, |noon| noon.and_utc())
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
