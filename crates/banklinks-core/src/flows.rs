//! The operations the UI calls, for one profile (a Moneyhub user in one environment): refresh
//! from Moneyhub into the store, begin and complete authorizations, sync, remove, and the
//! dashboard with each connection's health.
//!
//! The store is synchronous (SQLite); it is locked only between awaits, never across one.
//! Secrets of pending authorizations (PKCE verifier, nonce) go to the keychain; the store keeps
//! the rest.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use moneyhub::api::TransactionQuery;
use moneyhub::models::{self, ConnectionType};
use moneyhub::{
    Callback, Moneyhub, PendingAuthorization, PendingSecrets, Purpose, Secret, find_pending,
};
use serde::Serialize;
use serde_json::json;

use crate::health::{self, Facts, Health, Tried};
use crate::keychain::{KeychainError, SecretStore};
use crate::sensitive::Sensitive;
use crate::store::{Actor, Store, StoreError, StoredAccount, StoredConnection, StoredTransaction};
use crate::sync_policy::{self, SyncAllowance};

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
    /// A manual sync asked for before it is allowed; says when.
    #[error("a sync is not allowed until {0}")]
    SyncNotYet(DateTime<Utc>),
    /// The callback belongs to no pending authorization (expired, cancelled, used or forged).
    #[error("this callback does not match an authorization in progress")]
    NoSuchAuthorization,
    #[error("the secrets of this authorization are missing from the keychain")]
    SecretsMissing,
    /// Something is already running on this connection; this request was not queued.
    #[error("an operation on {0} is already running")]
    Busy(String),
    #[error("there is no connection {0} in this profile")]
    NoSuchConnection(String),
}

/// A dashboard row: a connection, its accounts and what to do about it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub connection: StoredConnection,
    pub accounts: Vec<StoredAccount>,
    pub health: Health,
    pub sync: SyncAllowance,
    /// Manual syncs allowed per UK day by this provider, when it caps them.
    pub daily_sync_cap: Option<u32>,
    /// Moneyhub's next scheduled sync of this connection (UK schedule).
    #[specta(type = Option<String>)]
    pub next_automatic_sync: Option<DateTime<Utc>>,
    /// The provider reports problems right now.
    pub provider_degraded: bool,
}

/// An authorization waiting for its callback (shown as "Waiting for your bank…").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PendingView {
    pub state: String,
    /// `addConnection`, `reauth`, `reconsent` or `refresh`.
    pub purpose: String,
    pub connection_id: Option<String>,
    /// The bank chosen for a new connection.
    pub bank_id: Option<String>,
    #[specta(type = String)]
    pub started_at: DateTime<Utc>,
    #[specta(type = String)]
    pub expires_at: DateTime<Utc>,
}

/// One connection in full, for its detail page.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionDetail {
    pub view: ConnectionView,
    pub journal: Vec<crate::store::JournalEntry>,
    /// Per account, its daily balances.
    pub balances: Vec<(String, Vec<crate::store::BalancePoint>)>,
    #[specta(type = f64)]
    pub transaction_count: u64,
}

/// A page of a connection's transactions.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TransactionPage {
    pub transactions: Vec<StoredTransaction>,
    #[specta(type = f64)]
    pub total: u64,
}

/// What completing an authorization did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub connection_id: String,
    pub previous_connection_id: Option<String>,
}

#[derive(Debug)]
pub struct Flows {
    pub client: Moneyhub,
    pub store: Arc<Mutex<Store>>,
    pub keychain: Arc<dyn SecretStore>,
    /// Keychain accounts are namespaced by environment.
    pub environment: String,
    pub profile: String,
    pub user_id: String,
    /// Connections with an operation running: a second click is answered, not queued.
    busy: Mutex<std::collections::HashSet<String>>,
    events: tokio::sync::broadcast::Sender<FlowEvent>,
    /// Banks whose provider reports problems (from the institution list), by bank id.
    degraded_banks: Mutex<std::collections::HashSet<String>>,
}

/// What the flows tell the UI as they go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum FlowEvent {
    /// The profile's connections were fetched again.
    ConnectionsRefreshed,
    /// Transactions saved so far for a connection during a refresh.
    HistoryProgress {
        connection_id: String,
        transactions: u32,
    },
    Connected {
        connection_id: String,
        previous_connection_id: Option<String>,
    },
    SyncRequested {
        connection_id: String,
    },
    ConnectionRemoved {
        connection_id: String,
        accounts: u32,
        transactions: u32,
    },
}

/// Marks a connection busy until dropped.
struct Busy<'a> {
    set: &'a Mutex<std::collections::HashSet<String>>,
    id: String,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

/// Formats for exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ExportFormat {
    Csv,
    Json,
}

pub(crate) fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|poison| poison.into_inner())
}

fn stored_connection(c: &models::Connection) -> StoredConnection {
    let text = |value: &dyn erased::Wire| value.wire();
    StoredConnection {
        id: c.id.clone(),
        name: c.name.clone(),
        kind: text(&c.kind),
        status: text(&c.status),
        error: c.error.as_ref().map(|e| text(e)),
        extended_status: c.extended_status.as_ref().map(|e| text(e)),
        connected_on: c.connected_on,
        last_updated: c.last_updated,
        last_synced_at: c.last_synced_at,
        expires_at: c.expires_at,
        tpp_consent: c.tpp_consent.unwrap_or(false),
        single_sync_only: c.single_sync_only.unwrap_or(false),
    }
}

/// Moneyhub's enum values as the wire strings the store keeps.
mod erased {
    pub trait Wire {
        fn wire(&self) -> String;
    }
    impl<T: serde::Serialize> Wire for T {
        fn wire(&self) -> String {
            serde_json::to_value(self)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }
    }
}

fn facts(
    connection: &StoredConnection,
    accounts: &[StoredAccount],
    provider_degraded: bool,
) -> Facts {
    use health::{ErrorCode, ExtendedStatus, Kind, Status};
    Facts {
        kind: match connection.kind.as_str() {
            "legacy" => Kind::Legacy,
            "test" => Kind::Test,
            "zoopla" | "mouseprice" | "autotrader" => Kind::Valuation,
            _ => Kind::Api,
        },
        status: match connection.status.as_str() {
            "ok" => Status::Ok,
            "never" => Status::Never,
            _ => Status::Error,
        },
        error: connection.error.as_deref().and_then(|e| match e {
            "resync" => Some(ErrorCode::Resync),
            "sync_error" => Some(ErrorCode::SyncError),
            "sync_partial" => Some(ErrorCode::SyncPartial),
            "mfa_required" => Some(ErrorCode::MfaRequired),
            "credentials_error" => Some(ErrorCode::CredentialsError),
            _ => None,
        }),
        extended_status: connection.extended_status.as_deref().and_then(|e| match e {
            "expired" => Some(ExtendedStatus::Expired),
            "stoppedSyncing" => Some(ExtendedStatus::StoppedSyncing),
            _ => None,
        }),
        last_updated: connection.last_updated,
        expires_at: connection.expires_at,
        tpp_consent: connection.tpp_consent,
        single_sync_only: connection.single_sync_only,
        account_types: accounts.iter().map(|a| a.account_type.clone()).collect(),
        provider_degraded,
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
        }
    }

    /// Sends events to `sender` (one channel for the app, whichever profile is active).
    pub fn with_events(mut self, sender: tokio::sync::broadcast::Sender<FlowEvent>) -> Self {
        self.events = sender;
        self
    }

    /// Which banks' providers report problems, so health can say so.
    pub fn set_degraded_banks(&self, banks: std::collections::HashSet<String>) {
        *self
            .degraded_banks
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = banks;
    }

    fn provider_degraded(&self, connection: &str) -> bool {
        let bank = connection.split(':').next().unwrap_or(connection);
        self.degraded_banks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(bank)
    }

    /// Events as the flows run; a slow listener misses old ones rather than stalling the flows.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<FlowEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: FlowEvent) {
        let _ = self.events.send(event);
    }

    fn claim(&self, connection: &str) -> Result<Busy<'_>, FlowError> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
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

    pub(crate) fn secret_key(&self, state: &str, what: &str) -> String {
        format!("{}/pending/{state}/{what}", self.environment)
    }

    /// Fetches the profile's connections, accounts and transactions into the store. Each page
    /// of transactions is saved in its own transaction, so progress survives an interruption.
    pub async fn refresh(&self) -> Result<(), FlowError> {
        let now = self.now();
        let connections = self.client.connections(&self.user_id).await?;
        let stored: Vec<StoredConnection> = connections.iter().map(stored_connection).collect();
        lock(&self.store).save_connections(&self.profile, &stored, now)?;
        for connection in &connections {
            if matches!(connection.kind, ConnectionType::Other) {
                continue;
            }
            let accounts = self
                .client
                .accounts(&self.user_id, Some(&connection.id))
                .await?;
            let rows: Vec<StoredAccount> = accounts
                .iter()
                .map(|a| StoredAccount {
                    id: a.id.clone(),
                    connection_id: connection.id.clone(),
                    name: a.account_name.clone(),
                    account_type: a.account_type.clone(),
                    currency: a.balance.amount.currency.clone(),
                    balance_minor: a.balance.amount.value,
                    balance_date: a.balance.date.map(|d| d.format("%Y-%m-%d").to_string()),
                })
                .collect();
            lock(&self.store).save_accounts(&self.profile, &rows, now)?;
            if accounts.is_empty() {
                continue;
            }
            let query = TransactionQuery {
                account_ids: accounts.iter().map(|a| a.id.clone()).collect(),
                ..TransactionQuery::default()
            };
            let mut pages = self.client.transactions(&self.user_id, query);
            let mut saved: u32 = 0;
            while let Some(page) = pages.next_page().await? {
                saved = saved.saturating_add(u32::try_from(page.len()).unwrap_or(u32::MAX));
                let rows: Vec<StoredTransaction> = page
                    .into_iter()
                    .filter_map(|t| {
                        Some(StoredTransaction {
                            account_id: t.account_id?,
                            id: t.id,
                            booked_at: t.date,
                            amount_minor: t.amount.value,
                            currency: t.amount.currency,
                            description: if t.short_description.is_empty() {
                                t.long_description
                            } else {
                                t.short_description
                            },
                            category_id: t.category_id,
                            pending: t.status == models::TransactionStatus::Pending,
                        })
                    })
                    .collect();
                lock(&self.store).import_transactions(&self.profile, &rows)?;
                self.emit(FlowEvent::HistoryProgress {
                    connection_id: connection.id.clone(),
                    transactions: saved,
                });
            }
        }
        self.emit(FlowEvent::ConnectionsRefreshed);
        Ok(())
    }

    /// Starts an authorization: the URL to open in the browser. The pending record goes to the
    /// store, its secrets to the keychain.
    pub async fn begin(&self, purpose: Purpose) -> Result<url::Url, FlowError> {
        let begun = self.client.begin(purpose).await?;
        let now = self.now();
        self.keychain.put(
            &self.secret_key(&begun.pending.state, "verifier"),
            &Sensitive::new(begun.secrets.code_verifier.expose().to_string()),
        )?;
        self.keychain.put(
            &self.secret_key(&begun.pending.state, "nonce"),
            &Sensitive::new(begun.secrets.nonce.expose().to_string()),
        )?;
        let purpose_json = serde_json::to_string(&begun.pending).unwrap_or_default();
        lock(&self.store).save_pending(
            &begun.pending.state,
            &self.profile,
            &purpose_json,
            now,
            now + PENDING_LIFETIME,
        )?;
        lock(&self.store).append_journal(
            &self.profile,
            begun.pending.purpose.connection_id(),
            "authorization_started",
            Actor::User,
            &json!({ "purpose": begun.pending.purpose }),
            now,
        )?;
        Ok(begun.url)
    }

    /// Completes an authorization from its callback URL, then refreshes the profile's data.
    pub async fn complete(&self, callback_url: &str) -> Result<Connected, FlowError> {
        let callback = Callback::parse(callback_url)?;
        let now = self.now();
        let candidates: Vec<PendingAuthorization> = lock(&self.store)
            .pending(&self.profile, now)?
            .into_iter()
            .filter_map(|(_, json, _)| serde_json::from_str(&json).ok())
            .collect();
        let pending = find_pending(&candidates, &callback)
            .cloned()
            .ok_or(FlowError::NoSuchAuthorization)?;
        // Claim it first: a second delivery of the same callback finds nothing.
        if !lock(&self.store).take_pending(&pending.state)? {
            return Err(FlowError::NoSuchAuthorization);
        }
        let verifier = self
            .keychain
            .get(&self.secret_key(&pending.state, "verifier"))?;
        let nonce = self
            .keychain
            .get(&self.secret_key(&pending.state, "nonce"))?;
        self.keychain
            .delete(&self.secret_key(&pending.state, "verifier"))?;
        self.keychain
            .delete(&self.secret_key(&pending.state, "nonce"))?;
        let (Some(verifier), Some(nonce)) = (verifier, nonce) else {
            return Err(FlowError::SecretsMissing);
        };
        let secrets = PendingSecrets {
            code_verifier: Secret::new(verifier.expose().clone()),
            nonce: Secret::new(nonce.expose().clone()),
        };
        let done = match self.client.complete(&pending, &secrets, &callback).await {
            Ok(done) => done,
            Err(err) => {
                lock(&self.store).append_journal(
                    &self.profile,
                    pending.purpose.connection_id(),
                    "authorization_failed",
                    Actor::User,
                    &json!({ "error": err.to_string() }),
                    self.now(),
                )?;
                return Err(err.into());
            }
        };
        let event = match pending.purpose {
            Purpose::AddConnection { .. } => "added",
            Purpose::Reauth { .. } => "reauth_completed",
            Purpose::Reconsent { .. } => "reconsented",
            Purpose::Refresh { .. } => "refreshed",
        };
        {
            let mut store = lock(&self.store);
            if let Some(previous) = &done.previous_connection_id {
                store.rename_connection(&self.profile, previous, &done.connection_id, now)?;
            }
            store.append_journal(
                &self.profile,
                Some(&done.connection_id),
                event,
                Actor::User,
                &json!({}),
                now,
            )?;
        }
        self.emit(FlowEvent::Connected {
            connection_id: done.connection_id.clone(),
            previous_connection_id: done.previous_connection_id.clone(),
        });
        self.refresh().await?;
        Ok(Connected {
            connection_id: done.connection_id,
            previous_connection_id: done.previous_connection_id,
        })
    }

    /// Cancels a pending authorization (its callback will be refused).
    pub fn cancel(&self, state: &str) -> Result<bool, FlowError> {
        let existed = lock(&self.store).take_pending(state)?;
        self.keychain.delete(&self.secret_key(state, "verifier"))?;
        self.keychain.delete(&self.secret_key(state, "nonce"))?;
        Ok(existed)
    }

    /// When a manual sync of `connection` is allowed.
    pub fn sync_allowance(
        &self,
        connection: &str,
        institution_name: &str,
    ) -> Result<SyncAllowance, FlowError> {
        let history = lock(&self.store).manual_sync_history(&self.profile, connection)?;
        Ok(sync_policy::manual_sync_allowance(
            &history,
            sync_policy::provider_daily_cap(institution_name),
            self.now(),
        ))
    }

    /// A user-requested sync, refused before it is allowed; a 429 is remembered.
    pub async fn sync_now(
        &self,
        connection: &str,
        institution_name: &str,
        customer_ip: Option<IpAddr>,
    ) -> Result<(), FlowError> {
        let _busy = self.claim(connection)?;
        if let SyncAllowance::At { at, .. } = self.sync_allowance(connection, institution_name)? {
            lock(&self.store).append_journal(
                &self.profile,
                Some(connection),
                "sync_throttled",
                Actor::User,
                &json!({ "until": at }),
                self.now(),
            )?;
            return Err(FlowError::SyncNotYet(at));
        }
        let now = self.now();
        match self
            .client
            .sync(&self.user_id, connection, customer_ip)
            .await
        {
            Ok(started) => {
                let store = lock(&self.store);
                store.note_manual_sync(&self.profile, connection, Some(now), None)?;
                store.append_journal(
                    &self.profile,
                    Some(connection),
                    "sync_requested",
                    Actor::User,
                    &json!({ "status": started.status }),
                    now,
                )?;
            }
            Err(moneyhub::Error::RateLimited { retry_after, .. }) => {
                let at = now
                    + Duration::from_std(
                        retry_after.unwrap_or(std::time::Duration::from_secs(1800)),
                    )
                    .unwrap_or(Duration::minutes(30));
                let store = lock(&self.store);
                store.note_manual_sync(&self.profile, connection, None, Some(at))?;
                store.append_journal(
                    &self.profile,
                    Some(connection),
                    "sync_throttled",
                    Actor::User,
                    &json!({ "until": at }),
                    now,
                )?;
                return Err(FlowError::SyncNotYet(at));
            }
            Err(err) => return Err(err.into()),
        }
        self.refresh().await
    }

    /// Removes a connection: Moneyhub first (revoking consent and deleting its data there), then
    /// this device, with a receipt in the journal.
    pub async fn remove(
        &self,
        connection: &str,
    ) -> Result<crate::store::RemovalReceipt, FlowError> {
        let _busy = self.claim(connection)?;
        self.client
            .delete_connection(&self.user_id, connection)
            .await?;
        let receipt = lock(&self.store).remove_connection(
            &self.profile,
            connection,
            Actor::User,
            self.now(),
        )?;
        self.emit(FlowEvent::ConnectionRemoved {
            connection_id: connection.to_string(),
            accounts: u32::try_from(receipt.accounts).unwrap_or(u32::MAX),
            transactions: u32::try_from(receipt.transactions).unwrap_or(u32::MAX),
        });
        Ok(receipt)
    }

    /// The profile's journal as CSV or JSON.
    pub fn export_journal(&self, format: ExportFormat) -> Result<String, FlowError> {
        let entries = lock(&self.store).journal(&self.profile)?;
        Ok(match format {
            ExportFormat::Json => serde_json::to_string_pretty(&entries).unwrap_or_default(),
            ExportFormat::Csv => {
                let mut out = String::from("seq,at,connection_id,event,actor,details\n");
                for e in entries {
                    let actor = match e.actor {
                        Actor::User => "user",
                        Actor::Automatic => "automatic",
                    };
                    let row = [
                        e.seq.to_string(),
                        crate::store::iso(e.at),
                        e.connection_id.unwrap_or_default(),
                        e.event,
                        actor.to_string(),
                        e.details.to_string(),
                    ];
                    out.push_str(
                        &row.iter()
                            .map(|field| csv_field(field))
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                    out.push('\n');
                }
                out
            }
        })
    }

    /// An account's transactions as CSV or JSON (amounts in minor units with the currency).
    pub fn export_transactions(
        &self,
        account: &str,
        format: ExportFormat,
    ) -> Result<String, FlowError> {
        let rows = lock(&self.store).transactions(&self.profile, account, u32::MAX, 0)?;
        Ok(match format {
            ExportFormat::Json => serde_json::to_string_pretty(&rows).unwrap_or_default(),
            ExportFormat::Csv => {
                let mut out = String::from(
                    "id,account_id,booked_at,amount_minor,currency,description,category_id,status\n",
                );
                for t in rows {
                    let row = [
                        t.id,
                        t.account_id,
                        crate::store::iso(t.booked_at),
                        t.amount_minor.to_string(),
                        t.currency,
                        t.description,
                        t.category_id.unwrap_or_default(),
                        if t.pending {
                            "pending".into()
                        } else {
                            "posted".into()
                        },
                    ];
                    out.push_str(
                        &row.iter()
                            .map(|field| csv_field(field))
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                    out.push('\n');
                }
                out
            }
        })
    }

    /// Every connection with its accounts, health and sync availability, from the store alone
    /// (instant, and offline).
    pub fn dashboard(&self) -> Result<Vec<ConnectionView>, FlowError> {
        let store = lock(&self.store);
        let rows = store.dashboard(&self.profile)?;
        rows.into_iter()
            .map(|row| self.view(&store, row.connection, row.accounts))
            .collect()
    }

    fn view(
        &self,
        store: &Store,
        connection: StoredConnection,
        accounts: Vec<StoredAccount>,
    ) -> Result<ConnectionView, FlowError> {
        let now = self.now();
        let history = store.manual_sync_history(&self.profile, &connection.id)?;
        let daily_sync_cap = sync_policy::provider_daily_cap(&connection.name);
        let sync = sync_policy::manual_sync_allowance(&history, daily_sync_cap, now);
        let tried = tried_since_problem(store, &self.profile, &connection)?;
        let provider_degraded = self.provider_degraded(&connection.id);
        let facts = facts(&connection, &accounts, provider_degraded);
        let health = health::assess(&facts, sync, &tried, now);
        let schedule = match facts.kind {
            health::Kind::Legacy => sync_policy::ScheduleKind::Legacy,
            health::Kind::Valuation => sync_policy::ScheduleKind::Valuation,
            health::Kind::Api | health::Kind::Test => sync_policy::ScheduleKind::OpenBanking,
        };
        let next_automatic_sync =
            sync_policy::next_automatic_sync(schedule, connection.connected_on.unwrap_or(now), now);
        Ok(ConnectionView {
            connection,
            accounts,
            health,
            sync,
            daily_sync_cap,
            next_automatic_sync,
            provider_degraded,
        })
    }

    /// One connection with its journal (following earlier ids) and balance history.
    pub fn connection_detail(&self, connection: &str) -> Result<ConnectionDetail, FlowError> {
        let store = lock(&self.store);
        let row = store
            .dashboard(&self.profile)?
            .into_iter()
            .find(|row| row.connection.id == connection)
            .ok_or_else(|| FlowError::NoSuchConnection(connection.to_string()))?;
        let mut balances = Vec::with_capacity(row.accounts.len());
        for account in &row.accounts {
            balances.push((
                account.id.clone(),
                store.balance_history(&self.profile, &account.id)?,
            ));
        }
        let journal = store.connection_journal(&self.profile, connection)?;
        let (_, transaction_count) =
            store.connection_transactions(&self.profile, connection, "", 0, 0)?;
        let view = self.view(&store, row.connection, row.accounts)?;
        Ok(ConnectionDetail {
            view,
            journal,
            balances,
            transaction_count,
        })
    }

    /// A page of a connection's transactions, newest first, filtered by description.
    pub fn transactions(
        &self,
        connection: &str,
        search: &str,
        limit: u32,
        offset: u32,
    ) -> Result<TransactionPage, FlowError> {
        let (transactions, total) = lock(&self.store).connection_transactions(
            &self.profile,
            connection,
            search,
            limit.min(500),
            offset,
        )?;
        Ok(TransactionPage {
            transactions,
            total,
        })
    }

    /// The profile's journal, newest last.
    pub fn journal(&self) -> Result<Vec<crate::store::JournalEntry>, FlowError> {
        Ok(lock(&self.store).journal(&self.profile)?)
    }

    /// Authorizations still waiting for their callback (they survive a restart).
    pub fn pending_authorizations(&self) -> Result<Vec<PendingView>, FlowError> {
        let now = self.now();
        let rows = lock(&self.store).pending(&self.profile, now)?;
        Ok(rows
            .into_iter()
            .filter_map(|(state, json, started_at)| {
                let pending: PendingAuthorization = serde_json::from_str(&json).ok()?;
                let (purpose, bank_id) = match &pending.purpose {
                    Purpose::AddConnection { bank, .. } => (
                        "addConnection",
                        match bank {
                            moneyhub::BankChoice::Bank(id) => Some(id.clone()),
                            _ => None,
                        },
                    ),
                    Purpose::Reauth { .. } => ("reauth", None),
                    Purpose::Reconsent { .. } => ("reconsent", None),
                    Purpose::Refresh { .. } => ("refresh", None),
                };
                Some(PendingView {
                    state,
                    purpose: purpose.into(),
                    connection_id: pending.purpose.connection_id().map(str::to_string),
                    bank_id,
                    started_at,
                    expires_at: started_at + PENDING_LIFETIME,
                })
            })
            .collect())
    }
}

/// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed so a spreadsheet never runs a
/// bank description as a formula.
fn csv_field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@']) && value.parse::<f64>().is_err() {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Fixes the user completed since the connection's data last updated (the problem's start).
fn tried_since_problem(
    store: &Store,
    profile: &str,
    connection: &StoredConnection,
) -> Result<Tried, StoreError> {
    let since = connection.last_updated.unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut tried = Tried::default();
    for entry in store.connection_journal(profile, &connection.id)? {
        if entry.at <= since {
            continue;
        }
        match entry.event.as_str() {
            "sync_requested" => tried.sync = true,
            "reauth_completed" => tried.reauth = true,
            "reconsented" => tried.reconsent = true,
            "refreshed" => tried.refresh = true,
            _ => {}
        }
    }
    Ok(tried)
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1250"), "-1250", "numbers stay numbers");
    }
}
