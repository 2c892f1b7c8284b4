//! Manual syncs, "sync as soon as allowed", and removal.
//!
//! Whether a sync may run is the connection's sync check (health owns it); a sync refused only
//! for time can be queued. The queue lives in the store, so it survives a restart; the poller
//! runs what is due. Moneyhub's 429 is remembered as a wait.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use super::{FlowError, FlowEvent, Flows, lock};
use crate::health::{Action, ActionCheck};
use crate::journal::JournalEvent;
use crate::store::{Actor, RemovalReceipt};

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

    /// A user-requested sync, refused before it is allowed; a 429 is remembered.
    pub async fn sync_now(
        &self,
        connection: &str,
        customer_ip: Option<IpAddr>,
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
                    Actor::User,
                    now,
                )?;
                if store.unqueue_sync(&self.profile, connection)? {
                    self.emit(FlowEvent::SyncQueueChanged);
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
                    Actor::User,
                    now,
                )?;
                return Err(FlowError::SyncNotYet(at));
            }
            Err(err) => return Err(err.into()),
        }
        self.emit(FlowEvent::SyncRequested {
            connection_id: connection.to_string(),
        });
        self.refresh().await
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
    pub async fn run_due_syncs(&self, customer_ip: Option<IpAddr>) -> QueueRun {
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
            match self.sync_now(&connection, customer_ip).await {
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

    /// Removes a connection: Moneyhub first (revoking consent and deleting its data there), then
    /// this device (its queued sync with it), with a receipt in the journal.
    pub async fn remove(&self, connection: &str) -> Result<RemovalReceipt, FlowError> {
        let _busy = self.claim(connection)?;
        // Only a connection of this profile goes into Moneyhub's URL: an id from the webview
        // such as `../../<other user>/connection/<id>` is refused here.
        self.connection_view(connection)?;
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
}
