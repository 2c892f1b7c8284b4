//! Getting data from the (simulated) bank: fetching generated transactions for a range of days,
//! posting pending ones, balances, the sync records and webhooks each attempt leaves, the
//! outcome a bank's script gives, and manual syncs with their rate limits.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

use super::{
    Connection, ConnectionError, ExtendedStatus, FetchStatus, Status, SyncAction, SyncRecord,
    SyncRefusal, Transaction, TransactionStatus, WebhookEvent, World, generator, schedule,
};
use crate::catalogue::{Institution, Script};

/// The most a sync or a catch-up makes up for at once: as far as one admin advance may move
/// the clock, so no world, however long it was left, costs more to bring up to date than one.
pub const LONGEST_MISSED_SPAN: Duration = Duration::days(400);

/// How long transactions stay pending before they post.
pub(super) const PENDING_FOR: Duration = Duration::days(2);

impl World {
    /// Adds the generated transactions dated `from..=until` to every account of the connection
    /// (days already fetched are skipped), posts pending ones that have aged, and records balances.
    pub(super) fn fetch_range(
        &mut self,
        connection_id: &str,
        from: NaiveDate,
        until: DateTime<Utc>,
    ) {
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
        // Moneyhub enriches what it fetched: new or moved regular series are announced (per
        // account, so a fetch costs its own accounts' history, not the whole world's).
        if let Some(connection) = self.connections.get(connection_id) {
            let (user, accounts) = (connection.user_id.clone(), connection.account_ids.clone());
            for account in accounts {
                self.detect_regular(&user, Some(account));
            }
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

    pub(super) fn emit(
        &mut self,
        event_type: &'static str,
        user_id: &str,
        payload: serde_json::Value,
    ) {
        let id = self.uuid();
        self.outbox.push(WebhookEvent {
            id,
            event_type,
            user_id: user_id.to_string(),
            payload,
        });
    }

    /// Moneyhub sends transaction webhooks per account, at most 6000 ids each.
    pub(super) fn announce_transactions(
        &mut self,
        connection_id: &str,
        account_id: Uuid,
        ids: &[Uuid],
    ) {
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

    pub(super) fn record_sync(
        &mut self,
        connection_id: &str,
        action: SyncAction,
        method: &'static str,
        status: FetchStatus,
        now: DateTime<Utc>,
    ) -> Uuid {
        self.finish_sync_record(None, connection_id, action, method, status, now)
    }

    /// Records a finished sync: a new record, or the running asynchronous one `started`.
    fn finish_sync_record(
        &mut self,
        started: Option<Uuid>,
        connection_id: &str,
        action: SyncAction,
        method: &'static str,
        status: FetchStatus,
        now: DateTime<Utc>,
    ) -> Uuid {
        let id = match started {
            Some(id) => id,
            None => self.uuid(),
        };
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
        if let Some(running) = started.and_then(|id| self.syncs.iter_mut().find(|s| s.id == id)) {
            running.fetch_status = status;
            running.fetched_at = Some(now);
            running.account_ids = account_ids;
            return id;
        }
        self.syncs.push(SyncRecord {
            id,
            connection_id: connection_id.to_string(),
            user_id,
            action,
            method,
            fetch_status: status,
            created_at: now,
            account_ids,
            fetched_at: Some(now),
            completes_at: None,
            customer_ip: None,
        });
        id
    }

    /// Starts an asynchronous sync (`POST /sync` on v3 by default): the record exists at once,
    /// running, and the sync itself happens when the bank's scripted time has passed (the
    /// catch-up runs it). Answers its id.
    fn start_async_sync(&mut self, connection_id: &str, now: DateTime<Utc>) -> Option<Uuid> {
        let connection = self.connections.get(connection_id)?;
        let takes = self
            .catalogue
            .get(&connection.bank_id)
            .map_or(Duration::seconds(4), Institution::sync_duration);
        let (user_id, account_ids) = (connection.user_id.clone(), connection.account_ids.clone());
        let id = self.uuid();
        self.syncs.push(SyncRecord {
            id,
            connection_id: connection_id.to_string(),
            user_id,
            action: SyncAction::ClientUpdate,
            method: "UPDATE",
            fetch_status: FetchStatus::Success,
            created_at: now,
            account_ids,
            fetched_at: None,
            completes_at: Some(now + takes),
            customer_ip: None,
        });
        self.invalidate_schedule();
        Some(id)
    }

    /// When the next running asynchronous sync finishes.
    pub(super) fn next_async_completion(&self) -> Option<DateTime<Utc>> {
        self.syncs
            .iter()
            .rev()
            .filter(|s| s.running())
            .filter_map(|s| s.completes_at)
            .min()
    }

    /// Runs the asynchronous syncs whose time has come, in order, each at its own instant.
    pub(super) fn complete_due_syncs(&mut self, now: DateTime<Utc>) {
        let mut due: Vec<(DateTime<Utc>, Uuid, String)> = self
            .syncs
            .iter()
            .filter(|s| s.running())
            .filter_map(|s| {
                let at = s.completes_at?;
                (at <= now).then(|| (at, s.id, s.connection_id.clone()))
            })
            .collect();
        due.sort();
        for (at, id, connection_id) in due {
            if self
                .run_sync_as(Some(id), &connection_id, SyncAction::ClientUpdate, at)
                .is_none()
            {
                // The connection went while it synced: the sync ends in error.
                if let Some(record) = self.syncs.iter_mut().find(|s| s.id == id) {
                    record.fetch_status = FetchStatus::Error;
                    record.fetched_at = Some(at);
                }
            }
        }
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
            Script::Unavailable
            | Script::UnknownError
            | Script::ErrorWithoutCode
            | Script::UnknownExtendedStatus => FetchStatus::Error,
            Script::SlowSync => FetchStatus::Success,
        }
    }

    /// One sync attempt: `lastSyncedAt` always moves, `lastUpdated` only when data came.
    pub fn run_sync(
        &mut self,
        connection_id: &str,
        action: SyncAction,
        now: DateTime<Utc>,
    ) -> Option<(Uuid, FetchStatus)> {
        self.run_sync_as(None, connection_id, action, now)
    }

    fn run_sync_as(
        &mut self,
        started: Option<Uuid>,
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
            // A bank gives a sync about a year of what it missed, not every day since a date
            // that may lie decades back (a world restored long after, or a planted file).
            let from = connection
                .fetched_until
                .max(now - LONGEST_MISSED_SPAN)
                .date_naive();
            self.fetch_range(connection_id, from, now);
        }
        let sync_id =
            self.finish_sync_record(started, connection_id, action, "UPDATE", outcome, now);
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
                let scripted = connection.forced_error.is_none();
                connection.error = match (failure, connection.script) {
                    (_, Script::ErrorWithoutCode) if scripted => None,
                    (_, Script::UnknownError) if scripted => Some(ConnectionError::ProviderError),
                    (FetchStatus::MfaRequired, _) => Some(ConnectionError::MfaRequired),
                    (FetchStatus::CredentialsError, _) => Some(ConnectionError::CredentialsError),
                    _ => Some(ConnectionError::SyncError),
                };
                if scripted && connection.script == Script::UnknownExtendedStatus {
                    connection.extended_status = Some(ExtendedStatus::Suspended);
                }
                connection.failing_since.get_or_insert(now);
                if expired {
                    connection.extended_status = Some(ExtendedStatus::Expired);
                }
            }
        }
        Some((sync_id, outcome))
    }

    /// Syncs of the connection (automatic and manual, finished or running) on `now`'s UK day:
    /// what a provider's daily cap counts.
    pub(super) fn syncs_on_uk_day(&self, connection_id: &str, now: DateTime<Utc>) -> usize {
        let today = schedule::uk_date(now);
        self.syncs
            .iter()
            .filter(|s| {
                s.connection_id == connection_id && schedule::uk_date(s.created_at) == today
            })
            .count()
    }

    /// `POST /sync/{connectionId}`: rate limited per connection and by provider caps (which
    /// count automatic syncs too). Synchronous: the sync has run when this answers. With
    /// `asynchronous`, the sync is only started; see [`World::complete_due_syncs`]. Answers the
    /// sync id and the connection's status (`ok`/`error`) as Moneyhub does.
    pub fn manual_sync(
        &mut self,
        user_id: &str,
        connection_id: &str,
        now: DateTime<Utc>,
        asynchronous: bool,
        customer_ip: Option<std::net::IpAddr>,
    ) -> Result<(Uuid, Status), SyncRefusal> {
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
            && self.syncs_on_uk_day(connection_id, now) >= cap as usize
        {
            return Err(SyncRefusal::RateLimited {
                retry_after: schedule::next_uk_midnight(now) - now,
            });
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
        let status_now = |world: &Self| {
            world
                .connections
                .get(connection_id)
                .map_or(Status::Error, |c| c.status)
        };
        let id = if asynchronous {
            self.start_async_sync(connection_id, now)
        } else {
            self.run_sync(connection_id, SyncAction::ClientUpdate, now)
                .map(|(id, _)| id)
        }
        .ok_or(SyncRefusal::NotFound)?;
        if let Some(record) = self.syncs.iter_mut().rev().find(|s| s.id == id) {
            record.customer_ip = customer_ip;
        }
        Ok((id, status_now(self)))
    }
}

fn fetch_status_for(error: ConnectionError) -> FetchStatus {
    match error {
        ConnectionError::MfaRequired => FetchStatus::MfaRequired,
        ConnectionError::CredentialsError => FetchStatus::CredentialsError,
        ConnectionError::SyncPartial => FetchStatus::Partial,
        ConnectionError::Resync | ConnectionError::SyncError | ConnectionError::ProviderError => {
            FetchStatus::Error
        }
    }
}

pub(super) fn day_noon(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(12, 0, 0)
        .map_or_else(Utc::now, |noon| noon.and_utc())
}
