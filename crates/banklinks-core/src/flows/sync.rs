//! Manual syncs, "sync as soon as allowed", and removal.
//!
//! Whether a sync may run is the connection's sync check (health owns it); a sync refused only
//! for time can be queued. The queue lives in the store, so it survives a restart; the poller
//! runs what is due. Moneyhub's 429 is remembered as a wait.
//!
//! Moneyhub's v3 syncs are asynchronous: `POST /sync` answers with a `syncId` at once and the
//! sync finishes later. The sync is kept "in flight" in the store (the card says syncing) and
//! its run is asked about ([`Flows::check_syncs_in_flight`], with backoff by the workspace and
//! on every poller step after a restart) until it has a `fetchStatus`; then that connection
//! alone is refreshed and the result journalled. A sync Moneyhub answers without an id (v2.0,
//! `enableAsync: false`) has finished, and is refreshed at once.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use moneyhub::models::FetchStatus;

use super::{FlowError, FlowEvent, Flows, lock};
use crate::health::{Action, ActionCheck};
use crate::journal::JournalEvent;
use crate::store::{Actor, RemovalReceipt, SyncInFlight, SyncRun};

/// How long a background sync is watched before the app stops asking about it (Moneyhub's
/// slowest providers take minutes; this is well past them).
pub const SYNC_WATCH_LIMIT: Duration = Duration::minutes(30);

/// What "sync as soon as allowed" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOrQueue {
    Synced,
    Queued(DateTime<Utc>),
}

/// What running the due queued syncs did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueRun {
    pub synced: Vec<String>,
    pub requeued: Vec<String>,
    pub dropped: Vec<String>,
}

impl Flows {
    /// The core's sync check for a connection.
    pub fn sync_check(&self, connection: &str) -> Result<ActionCheck, FlowError> {
        self.connection_view(connection)?
            .health
            .check(Action::Sync)
            .cloned()
            .ok_or_else(|| FlowError::NoSuchConnection(connection.to_string()))
    }

    /// A user-requested sync (the person is present: their IP goes with it), refused before it
    /// is allowed; a 429 is remembered.
    pub async fn sync_now(
        &self,
        connection: &str,
        customer_ip: Option<IpAddr>,
    ) -> Result<(), FlowError> {
        self.start_sync(connection, customer_ip, Actor::User).await
    }

    async fn start_sync(
        &self,
        connection: &str,
        customer_ip: Option<IpAddr>,
        actor: Actor,
    ) -> Result<(), FlowError> {
        let _busy = self.claim(connection)?;
        let check = self.sync_check(connection)?;
        if let Some(at) = check.available_at {
            lock(&self.store).append_journal(
                &self.profile,
                Some(connection),
                &JournalEvent::SyncThrottled { until: Some(at) },
                Actor::User,
                self.now(),
            )?;
            return Err(FlowError::SyncNotYet(at));
        }
        if let Some(reason) = check.reason {
            return Err(FlowError::NotAllowed(reason.describe().into()));
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
                    &JournalEvent::SyncRequested {
                        status: Some(started.status),
                    },
                    actor,
                    now,
                )?;
                if store.unqueue_sync(&self.profile, connection)? {
                    self.emit(FlowEvent::SyncQueueChanged);
                }
                if let Some(sync_id) = started.sync_id {
                    store.start_sync_in_flight(
                        &self.profile,
                        &SyncInFlight {
                            connection_id: connection.to_string(),
                            sync_id,
                            started_at: now,
                            by_user: actor == Actor::User,
                        },
                    )?;
                    drop(store);
                    self.emit(FlowEvent::SyncRequested {
                        connection_id: connection.to_string(),
                    });
                    return Ok(());
                }
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
                    &JournalEvent::SyncThrottled { until: Some(at) },
                    actor,
                    now,
                )?;
                return Err(FlowError::SyncNotYet(at));
            }
            // Refused: whether for an ended consent is said by the connection's own fields,
            // read again now, not by the refusal's words (which Moneyhub does not publish).
            Err(
                refused @ (moneyhub::Error::Http { status: 403, .. }
                | moneyhub::Error::ConsentExpired { .. }),
            ) => {
                if let Err(err) = self.refresh_connection(connection).await {
                    tracing::info!(%err, "could not read the connection after a refused sync");
                }
                if self.connection_view(connection)?.health.consent_ended {
                    return Err(moneyhub::Error::ConsentExpired {
                        message: "The consent for this connection has ended.".into(),
                    }
                    .into());
                }
                return Err(refused.into());
            }
            // The server failed after the request reached it: Moneyhub may have started the
            // sync and counts it against the window either way, so the wait starts now (a
            // card offering "Sync now" would only earn a 429).
            Err(
                err @ moneyhub::Error::Http {
                    status: 500..=599, ..
                },
            ) => {
                lock(&self.store).note_manual_sync(&self.profile, connection, Some(now), None)?;
                return Err(err.into());
            }
            Err(err) => return Err(err.into()),
        }
        // Answered without a sync id: the sync has finished.
        self.emit(FlowEvent::SyncRequested {
            connection_id: connection.to_string(),
        });
        let arrived = self.refresh_connection(connection).await?;
        self.sync_finished(connection, None, arrived);
        Ok(())
    }

    /// Asks Moneyhub about each sync in flight; a finished one refreshes its connection and is
    /// journalled (`SyncFinished` event). Answers how many are still running. A sync Moneyhub
    /// has no record of, or that runs longer than [`SYNC_WATCH_LIMIT`], stops being watched
    /// (its connection is refreshed, so the card shows whatever Moneyhub says now).
    pub async fn check_syncs_in_flight(&self) -> Result<usize, FlowError> {
        let (over, running) = self.syncs_over().await?;
        for (connection, fetch_status) in over {
            let arrived = self.refresh_connection(&connection).await?;
            self.sync_finished(&connection, fetch_status, arrived);
        }
        Ok(running)
    }

    /// The syncs in flight that are over (finished, unknown to Moneyhub, or past the watch
    /// limit), each with its `fetchStatus`, no longer watched; and how many still run.
    pub(super) async fn syncs_over(
        &self,
    ) -> Result<(Vec<(String, Option<FetchStatus>)>, usize), FlowError> {
        let in_flight = lock(&self.store).syncs_in_flight(&self.profile)?;
        let now = self.now();
        let mut over = Vec::new();
        let mut running = 0;
        for sync in in_flight {
            let status = match self.client.sync_run(&self.user_id, &sync.sync_id).await {
                Ok(run) if run.finished() => run.fetch_status,
                Ok(_) if now - sync.started_at < SYNC_WATCH_LIMIT => {
                    running += 1;
                    continue;
                }
                // Moneyhub may have no record of a run until it ends (404), or fail to answer
                // for a while: neither ends the watch, and neither stops a refresh; past the
                // limit the card shows whatever Moneyhub says of the connection itself.
                Err(err) if now - sync.started_at < SYNC_WATCH_LIMIT => {
                    tracing::info!(%err, "could not read a sync run; asking again later");
                    running += 1;
                    continue;
                }
                Ok(_) | Err(_) => None,
            };
            lock(&self.store).end_sync_in_flight(&self.profile, &sync.connection_id)?;
            over.push((sync.connection_id, status));
        }
        Ok((over, running))
    }

    pub(super) fn sync_finished(
        &self,
        connection: &str,
        fetch_status: Option<FetchStatus>,
        arrived: u64,
    ) {
        let result = crate::sync_result::finished(fetch_status.as_ref(), arrived);
        let journalled = lock(&self.store).append_journal(
            &self.profile,
            Some(connection),
            &JournalEvent::SyncFinished {
                fetch_status: fetch_status.clone(),
                new_transactions: arrived,
            },
            Actor::Automatic,
            self.now(),
        );
        if let Err(err) = journalled {
            tracing::warn!(%err, "could not journal a finished sync");
        }
        self.emit(FlowEvent::SyncFinished {
            connection_id: connection.to_string(),
            text: result.text,
            failed: result.failed,
            new_transactions: u32::try_from(arrived).unwrap_or(u32::MAX),
        });
    }

    /// Runs the sync now if allowed; if only time stands in the way, queues it for then.
    pub async fn sync_when_allowed(
        &self,
        connection: &str,
        customer_ip: Option<IpAddr>,
    ) -> Result<SyncOrQueue, FlowError> {
        let check = self.sync_check(connection)?;
        if check.allowed {
            self.sync_now(connection, customer_ip).await?;
            return Ok(SyncOrQueue::Synced);
        }
        match check.available_at {
            Some(at) => {
                self.queue(connection, at, Actor::User)?;
                Ok(SyncOrQueue::Queued(at))
            }
            None => Err(FlowError::NotAllowed(
                check
                    .reason
                    .map(|reason| reason.describe())
                    .unwrap_or("a sync is not allowed for this connection")
                    .into(),
            )),
        }
    }

    fn queue(&self, connection: &str, at: DateTime<Utc>, actor: Actor) -> Result<(), FlowError> {
        let store = lock(&self.store);
        store.queue_sync(&self.profile, connection, at)?;
        store.append_journal(
            &self.profile,
            Some(connection),
            &JournalEvent::SyncQueued { at: Some(at) },
            actor,
            self.now(),
        )?;
        drop(store);
        self.emit(FlowEvent::SyncQueueChanged);
        Ok(())
    }

    /// The profile's queued syncs and when each runs.
    pub fn queued_syncs(&self) -> Result<Vec<(String, DateTime<Utc>)>, FlowError> {
        Ok(lock(&self.store).queued_syncs(&self.profile)?)
    }

    /// Runs the queued syncs that are due: a sync still refused for time moves to its new
    /// time; one that fails otherwise is dropped, with the reason in the journal.
    /// The person is not present when a queued sync runs, so no IP address goes with it.
    pub async fn run_due_syncs(&self) -> QueueRun {
        let mut run = QueueRun::default();
        let now = self.now();
        let due: Vec<String> = match self.queued_syncs() {
            Ok(queued) => queued
                .into_iter()
                .filter(|(_, at)| *at <= now)
                .map(|(id, _)| id)
                .collect(),
            Err(err) => {
                tracing::warn!(%err, "could not read the sync queue");
                return run;
            }
        };
        for connection in due {
            match self.start_sync(&connection, None, Actor::Automatic).await {
                Ok(()) => run.synced.push(connection),
                Err(FlowError::SyncNotYet(at)) => {
                    if let Err(err) = self.queue(&connection, at, Actor::Automatic) {
                        tracing::warn!(%err, "could not move a queued sync");
                    }
                    run.requeued.push(connection);
                }
                // Another operation on it is running; try again next tick.
                Err(FlowError::Busy(_)) => {}
                Err(err) => {
                    tracing::info!(%err, "a queued sync failed");
                    let dropped = lock(&self.store).unqueue_sync(&self.profile, &connection);
                    let journalled = lock(&self.store).append_journal(
                        &self.profile,
                        Some(&connection),
                        &JournalEvent::SyncUnqueued {
                            why: err.to_string(),
                        },
                        Actor::Automatic,
                        self.now(),
                    );
                    if let Err(err) = dropped.map(|_| ()).and(journalled.map(|_| ())) {
                        tracing::warn!(%err, "could not drop a failed queued sync");
                    }
                    self.emit(FlowEvent::SyncQueueChanged);
                    run.dropped.push(connection);
                }
            }
        }
        run
    }

    /// Moneyhub's own record of the connection's syncs (automatic and asked for), newest first:
    /// asked for now and kept, or what was kept when Moneyhub cannot be reached.
    pub async fn sync_history(&self, connection: &str) -> Result<Vec<SyncRun>, FlowError> {
        // Only a connection of this profile goes into Moneyhub's URL.
        self.connection_view(connection)?;
        match self
            .client
            .connection_syncs(&self.user_id, connection)
            .await
        {
            Ok(runs) => {
                let runs: Vec<SyncRun> = runs
                    .into_iter()
                    .map(|run| {
                        // A running sync's record may carry an in-progress value: not an outcome.
                        let fetch_status = run.fetch_status.clone().filter(|_| run.finished());
                        SyncRun {
                            id: run.id,
                            action: run.action,
                            result: crate::sync_result::run(fetch_status.as_ref()),
                            fetch_status,
                            created_at: run.created_at,
                        }
                    })
                    .collect();
                lock(&self.store).save_sync_runs(&self.profile, connection, &runs)?;
            }
            Err(moneyhub::Error::Transport { .. }) => {}
            Err(err) => return Err(err.into()),
        }
        Ok(lock(&self.store).sync_runs(&self.profile, connection, 50)?)
    }

    /// Removes a connection: Moneyhub first (revoking consent and deleting its data there), then
    /// this device (its queued sync with it), with a receipt in the journal.
    pub async fn remove(&self, connection: &str) -> Result<RemovalReceipt, FlowError> {
        let _busy = self.claim(connection)?;
        // Only a connection of this profile goes into Moneyhub's URL: an id from the webview
        // such as `../../<other user>/connection/<id>` is refused here.
        let view = self.connection_view(connection)?;
        let revoked = match self
            .client
            .delete_connection(&self.user_id, connection)
            .await
        {
            Ok(()) => true,
            // Already gone at Moneyhub (deleted elsewhere): only this device's copy is left.
            Err(moneyhub::Error::Http { status: 404, .. }) => false,
            Err(err) => return Err(err.into()),
        };
        let mut receipt = lock(&self.store).remove_connection(
            &self.profile,
            connection,
            Actor::User,
            self.now(),
        )?;
        receipt.text = removal_text(&view.connection.name, &receipt, revoked);
        self.emit(FlowEvent::ConnectionRemoved {
            connection_id: connection.to_string(),
            accounts: u32::try_from(receipt.accounts).unwrap_or(u32::MAX),
            transactions: u32::try_from(receipt.transactions).unwrap_or(u32::MAX),
        });
        Ok(receipt)
    }
}

/// "Removed Monzo: consent revoked, 2 accounts and 340 transactions deleted from Moneyhub and
/// this device." Only what happened: a connection Moneyhub no longer had had no consent to
/// revoke there.
pub(crate) fn removal_text(bank: &str, receipt: &RemovalReceipt, revoked: bool) -> String {
    let what = accounts_and_transactions(receipt.accounts, receipt.transactions);
    if revoked {
        format!("Removed {bank}: consent revoked, {what} deleted from Moneyhub and this device.")
    } else {
        format!(
            "Removed {bank}: Moneyhub no longer had it, so there was no consent to revoke; {what} deleted from this device."
        )
    }
}

/// What the removal dialog says will happen, before anything does: the same facts as the
/// receipt that follows ("This revokes Banklinks’ consent at Monzo and deletes 2 accounts and
/// 1,234 transactions from Moneyhub and this device.").
pub(crate) fn removal_summary(
    bank: &str,
    accounts: u64,
    transactions: u64,
    gone_at_moneyhub: bool,
) -> String {
    let what = accounts_and_transactions(accounts, transactions);
    if gone_at_moneyhub {
        format!(
            "Moneyhub no longer has {bank}, so there is no consent to revoke. This deletes {what} from this device."
        )
    } else {
        format!(
            "This revokes Banklinks’ consent at {bank} and deletes {what} from Moneyhub and this device."
        )
    }
}

/// "2 accounts and 1,234 transactions", written as the rest of the app writes counts.
fn accounts_and_transactions(accounts: u64, transactions: u64) -> String {
    let count = |n: u64, what: &str| {
        let digits = n.to_string();
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        format!("{grouped} {what}{}", if n == 1 { "" } else { "s" })
    };
    format!(
        "{} and {}",
        count(accounts, "account"),
        count(transactions, "transaction")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_removal_dialog_says_what_the_receipt_will() {
        assert_eq!(
            removal_summary("Monzo", 2, 1234, false),
            "This revokes Banklinks’ consent at Monzo and deletes 2 accounts and 1,234 transactions from Moneyhub and this device."
        );
        assert_eq!(
            removal_summary("Monzo", 1, 1, true),
            "Moneyhub no longer has Monzo, so there is no consent to revoke. This deletes 1 account and 1 transaction from this device."
        );
    }

    #[test]
    fn a_receipt_says_only_what_happened() {
        let receipt = RemovalReceipt {
            accounts: 2,
            transactions: 1234,
            text: String::new(),
        };
        assert_eq!(
            removal_text("Monzo", &receipt, true),
            "Removed Monzo: consent revoked, 2 accounts and 1,234 transactions deleted from Moneyhub and this device."
        );
        let gone = removal_text("Monzo", &receipt, false);
        assert!(!gone.contains("revoked,"), "{gone}");
        assert!(!gone.contains("from Moneyhub"), "{gone}");
        assert!(gone.ends_with("deleted from this device."), "{gone}");
    }
}
