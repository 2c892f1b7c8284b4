//! Moneyhub into the store: the profile's connections, their accounts, and their transactions
//! page by page (each page saved in its own transaction, so progress survives an interruption,
//! with a `HistoryProgress` event per page of a new connection's history).
//!
//! Only what changed is fetched: after a connection's first full fetch, its transactions are
//! asked for by `startDateModified` (less an overlap), which also brings history that arrives
//! in the background. What Moneyhub no longer lists is reconciled: a pending transaction that
//! posted under a new id goes, and connections and accounts Moneyhub dropped are marked as gone
//! (kept as history) with a journal entry.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use moneyhub::api::TransactionQuery;
use moneyhub::models;

use super::{FlowError, FlowEvent, Flows, lock};
use crate::journal::JournalEvent;
use crate::store::{
    Actor, KEEP_GONE_DATA, RegularPayment, StoredAccount, StoredConnection, StoredTransaction,
};

/// How far before the last fetch a refresh looks again, for late changes Moneyhub dates back.
const OVERLAP: Duration = Duration::days(3);

/// How far back a transaction the bank deleted is noticed: the days compared whole after each
/// sync Moneyhub ran.
const RECENT_DELETIONS: Duration = Duration::days(7);

impl Flows {
    /// Fetches the profile's connections, then each one's accounts and what changed in its
    /// transactions, into the store.
    /// Syncs that finished in the background are settled with it.
    pub async fn refresh(&self) -> Result<(), FlowError> {
        let now = self.now();
        let (finished, _) = self.syncs_over().await?;
        let connections = self.list_connections(now).await?;
        let mut accounts = self.accounts_by_connection().await?;
        let mut arrived = std::collections::HashMap::new();
        for connection in &connections {
            // A connection the bulk list says nothing about is asked itself: taking "none" for
            // its answer would mark all its accounts closed.
            let known = accounts
                .as_mut()
                .and_then(|by_connection| by_connection.remove(&connection.id));
            let new = self.fetch_connection_data(connection, known, now).await?;
            arrived.insert(connection.id.as_str(), new);
        }
        self.fetch_regular_payments().await;
        lock(&self.store).set_setting(&self.last_refresh_key(), &crate::store::iso(now))?;
        for (connection, fetch_status) in finished {
            let new = arrived.get(connection.as_str()).copied().unwrap_or(0);
            self.sync_finished(&connection, fetch_status, new);
        }
        self.emit(FlowEvent::ConnectionsRefreshed);
        Ok(())
    }

    /// The connection list (every card's state), then one connection's data: what a finished
    /// sync needs. Answers the transactions that arrived.
    pub async fn refresh_connection(&self, id: &str) -> Result<u64, FlowError> {
        let now = self.now();
        let connections = self.list_connections(now).await?;
        let mut arrived = 0;
        if let Some(connection) = connections.iter().find(|c| c.id == id) {
            arrived = self.fetch_connection_data(connection, None, now).await?;
            self.fetch_regular_payments().await;
        }
        self.emit(FlowEvent::ConnectionsRefreshed);
        Ok(arrived)
    }

    /// Moneyhub's list of the user's connections, saved; the ones it no longer lists are
    /// marked gone and journalled once.
    async fn list_connections(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<models::Connection>, FlowError> {
        let connections = match self.client.connections(&self.user_id).await {
            Err(moneyhub::Error::Http { status: 404, .. }) => {
                // The user is gone, and every connection with it: the cards say so (sync is
                // refused, nothing "needs a sync"), and what was saved stays whatever the
                // setting, since a 404 is a poor reason to delete someone's history.
                self.mark_gone_except(&mut lock(&self.store), &[], true, now)?;
                return Err(FlowError::UserGone);
            }
            other => other?,
        };
        // A reauth at its bank may already have moved the connection to a new id that this
        // device learns only from the callback: until that arrives or the request expires, the
        // old one is not "removed at Moneyhub".
        let awaiting_reauth = self
            .pending_authorizations()?
            .into_iter()
            .filter_map(|pending| {
                (pending.purpose == crate::journal::AuthorizationPurpose::Reauth)
                    .then_some(pending.connection_id)
                    .flatten()
            });
        let stored: Vec<StoredConnection> = connections.iter().map(stored_connection).collect();
        let listed: Vec<String> = connections
            .iter()
            .map(|c| c.id.clone())
            .chain(awaiting_reauth)
            .collect();
        let mut store = lock(&self.store);
        store.save_connections(&self.profile, &stored, now)?;
        let keep = store.setting(KEEP_GONE_DATA)?.as_deref() != Some("off");
        self.mark_gone_except(&mut store, &listed, keep, now)?;
        Ok(connections)
    }

    /// Every connection not `listed` is marked removed at Moneyhub and journalled once; unless
    /// `keep`, its data goes too.
    fn mark_gone_except(
        &self,
        store: &mut crate::store::Store,
        listed: &[String],
        keep: bool,
        now: DateTime<Utc>,
    ) -> Result<(), FlowError> {
        for gone in store.mark_connections_gone(&self.profile, listed, now)? {
            store.append_journal(
                &self.profile,
                Some(&gone),
                &JournalEvent::RemovedAtMoneyhub,
                Actor::Automatic,
                now,
            )?;
            if !keep {
                store.remove_connection(&self.profile, &gone, Actor::Automatic, now)?;
            }
        }
        Ok(())
    }

    /// All the user's accounts in one request, by connection; `None` when an account does not
    /// say its connection (then each connection is asked for its own, since an account missing
    /// from its connection's list would be taken for closed).
    async fn accounts_by_connection(
        &self,
    ) -> Result<Option<HashMap<String, Vec<models::Account>>>, FlowError> {
        let mut by_connection: HashMap<String, Vec<models::Account>> = HashMap::new();
        for account in self.client.all_accounts(&self.user_id).await? {
            let Some(connection) = account.connection_id.clone() else {
                return Ok(None);
            };
            by_connection.entry(connection).or_default().push(account);
        }
        Ok(Some(by_connection))
    }

    /// One connection's accounts (`known` when already fetched with everyone's) and the
    /// transactions added or changed since its last fetch.
    async fn fetch_connection_data(
        &self,
        connection: &models::Connection,
        known: Option<Vec<models::Account>>,
        now: DateTime<Utc>,
    ) -> Result<u64, FlowError> {
        let accounts = match known {
            Some(accounts) => accounts,
            None => {
                self.client
                    .accounts(&self.user_id, Some(&connection.id))
                    .await?
            }
        };
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
                removed_at_source: None,
                provider_account_id: a.provider_account_id.clone(),
            })
            .collect();
        let account_ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
        let (adopted, fetched_before) = {
            let mut store = lock(&self.store);
            let adopted = store.adopt_reissued_accounts(&self.profile, &connection.id, &rows)?;
            store.save_accounts(&self.profile, &rows, now)?;
            let closed =
                store.mark_accounts_gone(&self.profile, &connection.id, &account_ids, now)?;
            if !closed.is_empty() {
                store.append_journal(
                    &self.profile,
                    Some(&connection.id),
                    &JournalEvent::AccountsGone { names: closed },
                    Actor::Automatic,
                    now,
                )?;
                if store.setting(KEEP_GONE_DATA)?.as_deref() == Some("off") {
                    store.delete_gone_accounts(&self.profile, &connection.id)?;
                }
            }
            (
                adopted,
                store.transactions_fetched_at(&self.profile, &connection.id)?,
            )
        };
        if accounts.is_empty() {
            return Ok(0);
        }
        // Progress is news only while a new connection's history comes in: a card being
        // brought up to date is not "fetching history". Its accounts are saved already, so
        // the first event lets the card show them before the first page arrives.
        let first_fetch = fetched_before.is_none();
        if first_fetch {
            self.emit(FlowEvent::HistoryProgress {
                connection_id: connection.id.clone(),
                transactions: 0,
            });
        }
        let query = TransactionQuery {
            account_ids: account_ids.clone(),
            // Accounts issued anew come whole: their transactions' new ids are matched to the
            // kept ones, whenever those were last modified.
            start_date_modified: fetched_before
                .filter(|_| adopted.is_empty())
                .map(|at| (at - OVERLAP).date_naive()),
            ..TransactionQuery::default()
        };
        let arrived = self
            .import_pages(
                first_fetch.then_some(connection.id.as_str()),
                query,
                &adopted,
            )
            .await?;
        if crate::sync_policy::provider_daily_cap(&connection.name).is_some() {
            // A capped provider counts every sync of the day, Moneyhub's own included: its
            // record says how many are left.
            if let Err(err) = self.sync_history(&connection.id).await {
                tracing::info!(%err, "could not read Moneyhub's sync record");
            }
        }
        // A pending transaction that posted under a new id arrives as a new row while its old
        // row goes: it is not news ("Synced: 1 new transaction" would count it twice over). The
        // recent days are also compared whole after Moneyhub has synced since the last fetch,
        // since a bank's deletion comes with a sync and is announced only by webhook.
        let replaced = match fetched_before {
            Some(before) => {
                let synced_since = connection
                    .last_synced_at
                    .or(connection.last_updated)
                    .is_some_and(|at| at > before);
                self.drop_unlisted(&account_ids, synced_since.then_some(now))
                    .await?
            }
            None => 0,
        };
        lock(&self.store).set_transactions_fetched_at(&self.profile, &connection.id, now)?;
        Ok(arrived.saturating_sub(replaced))
    }

    /// Moneyhub's regular transactions for the user (one request), into the store. They are an
    /// enrichment: a client without the scope, or a failure here, leaves the refresh standing
    /// and the last series fetched in place.
    async fn fetch_regular_payments(&self) {
        let series = match self.client.regular_transactions(&self.user_id, None).await {
            Ok(series) => series,
            Err(err) => {
                tracing::info!(%err, "could not fetch regular transactions");
                return;
            }
        };
        let rows: Vec<RegularPayment> = series.into_iter().map(stored_series).collect();
        if let Err(err) = lock(&self.store).replace_regular_payments(&self.profile, &rows) {
            tracing::warn!(%err, "could not save regular transactions");
        }
    }

    /// Saves every page of a query; answers how many transactions were new to the store.
    /// With a connection id, each page is reported as that connection's history progress.
    async fn import_pages(
        &self,
        progress_of: Option<&str>,
        query: TransactionQuery,
        reissued_accounts: &HashSet<String>,
    ) -> Result<u64, FlowError> {
        let mut pages = self.client.transactions(&self.user_id, query);
        let mut saved: u32 = 0;
        let mut arrived = 0;
        let mut listed = HashSet::new();
        while let Some(page) = pages.next_page().await? {
            saved = saved.saturating_add(u32::try_from(page.len()).unwrap_or(u32::MAX));
            let rows: Vec<StoredTransaction> =
                page.into_iter().filter_map(stored_transaction).collect();
            let mut store = lock(&self.store);
            if !reissued_accounts.is_empty() {
                store.adopt_reissued_transactions(
                    &self.profile,
                    reissued_accounts,
                    &rows,
                    &mut listed,
                )?;
            }
            arrived += store.import_transactions(&self.profile, &rows)?;
            drop(store);
            if let Some(connection_id) = progress_of {
                self.emit(FlowEvent::HistoryProgress {
                    connection_id: connection_id.to_string(),
                    transactions: saved,
                });
            }
        }
        Ok(arrived)
    }

    /// Moneyhub replaces a pending transaction that posts under a new id, and stops listing
    /// one the bank deleted (it sends `deletedTransactions`, which a desktop cannot receive):
    /// what is stored and no longer listed goes. The days since the oldest stored pending one
    /// are asked for, and with `recent_to` the last [`RECENT_DELETIONS`] before it too.
    /// Answers how many pending transactions went (most posted under a new id).
    async fn drop_unlisted(
        &self,
        account_ids: &[String],
        recent_to: Option<DateTime<Utc>>,
    ) -> Result<u64, FlowError> {
        let pending = lock(&self.store).earliest_pending_day(&self.profile, account_ids)?;
        let recent = recent_to.map(|now| now - RECENT_DELETIONS);
        let earliest = match (pending, recent) {
            (Some(pending), Some(recent)) => pending.min(recent),
            (one, other) => match one.or(other) {
                Some(earliest) => earliest,
                None => return Ok(0),
            },
        };
        let query = TransactionQuery {
            account_ids: account_ids.to_vec(),
            start_date: Some(earliest.date_naive()),
            ..TransactionQuery::default()
        };
        let mut pages = self.client.transactions(&self.user_id, query);
        let mut seen = HashSet::new();
        let mut rows = Vec::new();
        while let Some(page) = pages.next_page().await? {
            seen.extend(page.iter().map(|t| t.id.clone()));
            rows.extend(page.into_iter().filter_map(stored_transaction));
        }
        let mut store = lock(&self.store);
        store.import_transactions(&self.profile, &rows)?;
        let dropped = store.drop_unlisted(&self.profile, account_ids, earliest, &seen)?;
        Ok(u64::try_from(dropped.pending).unwrap_or(u64::MAX))
    }

    /// When the profile last heard from Moneyhub in full (survives restarts; "Updated …" in the
    /// chrome reads it).
    pub fn last_refresh(&self) -> Result<Option<String>, FlowError> {
        Ok(lock(&self.store).setting(&self.last_refresh_key())?)
    }

    fn last_refresh_key(&self) -> String {
        format!("last_refresh:{}", self.profile)
    }
}

fn stored_transaction(t: models::Transaction) -> Option<StoredTransaction> {
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
}

pub(super) fn stored_connection(c: &models::Connection) -> StoredConnection {
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

fn stored_series(series: models::RegularTransaction) -> RegularPayment {
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    RegularPayment {
        description: series
            .description
            .filter(|d| !d.trim().is_empty())
            .unwrap_or(series.cleaned_description),
        series_id: series.series_id,
        account_id: series.account_id,
        kind: series.kind,
        frequency: series.frequency,
        predicted_date: day(series.predicted_date),
        predicted_earliest: series.predicted_date_earliest.map(day),
        predicted_latest: series.predicted_date_latest.map(day),
        late: series.predicted_tx_late_or_not_detected.unwrap_or(false),
        currency: series.predicted_amount.currency,
        amount_minor: series.predicted_amount.value,
        amount_lower_minor: series.predicted_amount_lower.map(|a| a.value),
        amount_upper_minor: series.predicted_amount_upper.map(|a| a.value),
    }
}
