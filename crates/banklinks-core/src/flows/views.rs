//! What the UI reads, from the store alone (instant, and offline): the dashboard, one
//! connection's row and detail, transactions a page at a time, the journal. Each row carries
//! the core's whole answer about the connection: its kind, health with one recommended fix,
//! every action's check (allowed, why not, from when), and a queued sync, so the UI only
//! formats.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{FlowError, Flows, lock};
use crate::health::{self, ConnectionKind, Facts, Health, Tried};
use crate::journal::JournalEvent;
use crate::store::{
    BalancePoint, DashboardRow, JournalEntry, RegularPayment, Store, StoreError, StoredAccount,
    StoredConnection, StoredTransaction,
};
use crate::sync_policy;

/// A dashboard row: a connection, its accounts and what to do about it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub connection: StoredConnection,
    /// The kind, which decides the fixes; the UI labels this and never Moneyhub's raw type.
    pub kind: ConnectionKind,
    pub accounts: Vec<StoredAccount>,
    pub health: Health,
    /// Manual syncs allowed per UK day by this provider, when it caps them.
    pub daily_sync_cap: Option<u32>,
    /// Moneyhub's next scheduled sync of this connection (UK schedule).
    #[specta(type = Option<String>)]
    pub next_automatic_sync: Option<DateTime<Utc>>,
    /// "Sync as soon as allowed" is waiting to run at this time.
    #[specta(type = Option<String>)]
    pub queued_sync: Option<DateTime<Utc>>,
    /// The provider reports problems right now.
    pub provider_degraded: bool,
    /// Moneyhub is running a sync of it, started then (the card says "syncing").
    #[specta(type = Option<String>)]
    pub syncing_since: Option<DateTime<Utc>>,
    /// Moneyhub stopped listing it then (deleted elsewhere); kept here as history.
    #[specta(type = Option<String>)]
    pub removed_at_source: Option<DateTime<Utc>>,
    /// While its history is arriving, the date of its oldest transaction here: how far back it
    /// goes so far (not read otherwise).
    #[specta(type = Option<String>)]
    pub history_from: Option<DateTime<Utc>>,
    /// Moneyhub is still fetching its older history (it brings 1–3 months on connecting and
    /// the rest in the background within minutes).
    pub history_arriving: bool,
    /// Moneyhub's own status, error and extended status verbatim ("error (sync_error),
    /// stoppedSyncing"), for support: the one place its raw values are shown.
    pub moneyhub_says: String,
    /// How fresh each account's balance is, in the order of `accounts`: the card and the
    /// page show the same.
    pub freshness: Vec<AccountFreshness>,
}

/// When an account's balance was true, and why it may not be now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountFreshness {
    pub account_id: String,
    /// The balance as of then: the connection's last update while the account is shared, its
    /// own balance date once the bank stopped sharing it (its balance froze then).
    #[specta(type = Option<String>)]
    pub as_of: Option<DateTime<Utc>>,
    /// Why it is not updating, when it is not ("account closed or no longer shared since 3 Dec",
    /// "removed at Moneyhub", "consent expired, data frozen", "not updating until fixed").
    pub frozen: Option<String>,
}

fn freshness(
    connection: &StoredConnection,
    accounts: &[StoredAccount],
    health: &Health,
    connection_gone: bool,
    moment: crate::calendar::Moment,
) -> Vec<AccountFreshness> {
    let balance_day = |account: &StoredAccount| {
        account
            .balance_date
            .as_deref()
            .and_then(|day| chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map(|at| at.and_utc())
    };
    accounts
        .iter()
        .map(|account| {
            let (as_of, frozen) = if let Some(gone) = account.removed_at_source {
                (
                    balance_day(account).map_or(Some(gone), |day| Some(day.min(gone))),
                    // The day in the person's calendar, worded once for the card and the page.
                    Some(format!(
                        "account closed or no longer shared since {}",
                        moment.day(gone)
                    )),
                )
            } else {
                let frozen = if connection_gone {
                    Some("removed at Moneyhub".to_string())
                } else if health.consent_ended {
                    Some("consent expired, data frozen".to_string())
                } else if health.severity == health::Severity::Action {
                    Some("not updating until fixed".to_string())
                } else {
                    None
                };
                (
                    connection.last_updated.or_else(|| balance_day(account)),
                    frozen,
                )
            };
            AccountFreshness {
                account_id: account.id.clone(),
                as_of,
                frozen,
            }
        })
        .collect()
}

fn moneyhub_says(connection: &StoredConnection) -> String {
    let mut said = connection.status.clone();
    if let Some(error) = &connection.error {
        said.push_str(&format!(" ({error})"));
    }
    if let Some(extended) = &connection.extended_status {
        said.push_str(&format!(", {extended}"));
    }
    said
}

/// How long after connecting Moneyhub may still be bringing older history.
const HISTORY_ARRIVES_WITHIN: chrono::Duration = chrono::Duration::minutes(15);

/// Whether older history may still be on its way: connected moments ago, with less than a
/// year of it here so far.
fn history_arriving(
    connected_on: Option<DateTime<Utc>>,
    history_from: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    let short = history_from
        .zip(connected_on)
        .is_none_or(|(from, connected)| connected - from < chrono::Duration::days(330));
    connected_recently(connected_on, now) && short
}

fn connected_recently(connected_on: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    connected_on.is_some_and(|at| now - at < HISTORY_ARRIVES_WITHIN)
}

/// One connection in full, for its detail page.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionDetail {
    pub view: ConnectionView,
    pub journal: Vec<JournalEntry>,
    /// Per account, its daily balances.
    pub balances: Vec<(String, Vec<BalancePoint>)>,
    #[specta(type = f64)]
    pub transaction_count: u64,
    /// What removing it will do, in the words of the receipt that follows.
    pub removal_summary: String,
    /// The series Moneyhub detected in its accounts' transactions, soonest first per account.
    pub regular_payments: Vec<RegularPayment>,
}

/// A page of a connection's transactions.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TransactionPage {
    pub transactions: Vec<StoredTransaction>,
    #[specta(type = f64)]
    pub total: u64,
}

impl Flows {
    /// Every connection with its accounts, health and sync availability, from the store alone
    /// (instant, and offline).
    pub fn dashboard(&self) -> Result<Vec<ConnectionView>, FlowError> {
        let store = lock(&self.store);
        let rows = store.dashboard(&self.profile)?;
        rows.into_iter().map(|row| self.view(&store, row)).collect()
    }

    fn view(&self, store: &Store, row: DashboardRow) -> Result<ConnectionView, FlowError> {
        let DashboardRow {
            connection,
            accounts,
            removed_at_source,
        } = row;
        let now = self.now();
        let history = store.manual_sync_history(&self.profile, &connection.id)?;
        let daily_sync_cap = sync_policy::provider_daily_cap(&connection.name);
        let sync = sync_policy::manual_sync_allowance(&history, daily_sync_cap, now);
        let tried = tried_since_problem(store, &self.profile, &connection)?;
        let provider_degraded = self.provider_degraded(&connection.id);
        let syncing_since = store.sync_in_flight_since(&self.profile, &connection.id)?;
        let local = LocalFacts {
            provider_degraded,
            daily_sync_cap,
            removed_at_source,
            syncing: syncing_since.is_some(),
        };
        let facts = facts(&connection, &accounts, local);
        let health = health::assess(&facts, sync, &tried, now);
        let next_automatic_sync = facts
            .kind
            .schedule()
            .filter(|_| health::moneyhub_schedules(&facts, &health))
            .and_then(|schedule| {
                sync_policy::next_automatic_sync(
                    schedule,
                    connection.connected_on.unwrap_or(now),
                    now,
                )
            });
        let queued_sync = store.queued_sync(&self.profile, &connection.id)?;
        // Only a connection made moments ago can still be receiving history; the others skip
        // the query (the dashboard's first paint reads every card).
        let history_from = if connected_recently(connection.connected_on, now) {
            store.earliest_transaction(&self.profile, &connection.id)?
        } else {
            None
        };
        // Nothing more arrives from a connection Moneyhub no longer has or no longer shares.
        let history_arriving = history_arriving(connection.connected_on, history_from, now)
            && removed_at_source.is_none()
            && !health.consent_ended;
        let moneyhub_says = moneyhub_says(&connection);
        let freshness = freshness(
            &connection,
            &accounts,
            &health,
            removed_at_source.is_some(),
            now.into(),
        );
        Ok(ConnectionView {
            kind: facts.kind,
            connection,
            accounts,
            health,
            daily_sync_cap,
            next_automatic_sync,
            queued_sync,
            provider_degraded,
            syncing_since,
            removed_at_source,
            history_from,
            history_arriving,
            moneyhub_says,
            freshness,
        })
    }

    /// One connection's row, with its health and action checks. An id this profile does not
    /// have (whatever the webview sent) is `NoSuchConnection`, before it reaches any URL.
    pub fn connection_view(&self, connection: &str) -> Result<ConnectionView, FlowError> {
        let store = lock(&self.store);
        let row = Self::row_of(&store, &self.profile, connection)?;
        self.view(&store, row)
    }

    fn row_of(store: &Store, profile: &str, connection: &str) -> Result<DashboardRow, FlowError> {
        store
            .connection_row(profile, connection)?
            .ok_or_else(|| FlowError::NoSuchConnection(connection.to_string()))
    }

    /// One connection with its journal (following earlier ids) and balance history.
    pub fn connection_detail(&self, connection: &str) -> Result<ConnectionDetail, FlowError> {
        let store = lock(&self.store);
        let row = Self::row_of(&store, &self.profile, connection)?;
        let mut balances = Vec::with_capacity(row.accounts.len());
        let mut regular_payments = Vec::new();
        for account in &row.accounts {
            balances.push((
                account.id.clone(),
                store.balance_history(&self.profile, &account.id)?,
            ));
            regular_payments.extend(store.regular_payments(&self.profile, &account.id)?);
        }
        let journal = store.connection_journal(&self.profile, connection)?;
        let (_, transaction_count) =
            store.connection_transactions(&self.profile, connection, "", 0, 0)?;
        let view = self.view(&store, row)?;
        let removal_summary = super::sync::removal_summary(
            &view.connection.name,
            view.accounts.len() as u64,
            transaction_count,
            view.removed_at_source.is_some(),
        );
        Ok(ConnectionDetail {
            view,
            journal,
            balances,
            transaction_count,
            removal_summary,
            regular_payments,
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
    pub fn journal(&self) -> Result<Vec<JournalEntry>, FlowError> {
        Ok(lock(&self.store).journal(&self.profile)?)
    }
}

/// What the store knows beside Moneyhub's own fields.
struct LocalFacts {
    provider_degraded: bool,
    daily_sync_cap: Option<u32>,
    removed_at_source: Option<DateTime<Utc>>,
    syncing: bool,
}

fn facts(connection: &StoredConnection, accounts: &[StoredAccount], local: LocalFacts) -> Facts {
    use health::{ErrorCode, ExtendedStatus, Status};
    let status = match connection.status.as_str() {
        "ok" => Status::Ok,
        "never" => Status::Never,
        _ => Status::Error,
    };
    let error = match connection.error.as_deref() {
        Some("resync") => Some(ErrorCode::Resync),
        Some("sync_error") => Some(ErrorCode::SyncError),
        Some("sync_partial") => Some(ErrorCode::SyncPartial),
        Some("mfa_required") => Some(ErrorCode::MfaRequired),
        Some("credentials_error") => Some(ErrorCode::CredentialsError),
        Some(_) => Some(ErrorCode::Undocumented),
        // In error without saying why is still an error.
        None if status == Status::Error => Some(ErrorCode::Undocumented),
        None => None,
    };
    Facts {
        kind: ConnectionKind::from_wire(&connection.kind),
        status,
        error,
        extended_status: connection.extended_status.as_deref().map(|e| match e {
            "expired" => ExtendedStatus::Expired,
            "stoppedSyncing" => ExtendedStatus::StoppedSyncing,
            _ => ExtendedStatus::Undocumented,
        }),
        raw_error: connection.error.clone(),
        raw_extended_status: connection.extended_status.clone(),
        removed_at_source: local.removed_at_source,
        syncing: local.syncing,
        last_updated: connection.last_updated,
        last_synced_at: connection.last_synced_at,
        expires_at: connection.expires_at,
        tpp_consent: connection.tpp_consent,
        single_sync_only: connection.single_sync_only,
        account_types: accounts
            .iter()
            .filter(|a| a.removed_at_source.is_none())
            .map(|a| a.account_type.clone())
            .collect(),
        provider_degraded: local.provider_degraded,
        daily_sync_cap: local.daily_sync_cap,
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
        match entry.event {
            JournalEvent::SyncRequested { .. } => tried.sync = true,
            JournalEvent::ReauthCompleted => tried.reauth = true,
            JournalEvent::Reconsented => tried.reconsent = true,
            JournalEvent::Refreshed => tried.refresh = true,
            _ => continue,
        }
        if !matches!(entry.event, JournalEvent::SyncRequested { .. }) {
            tried.latest = tried.latest.max(Some(entry.at));
        }
    }
    Ok(tried)
}
