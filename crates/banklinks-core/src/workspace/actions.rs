//! What the person asks of a connection, each checked against the core's own action check
//! before anything reaches Moneyhub: going to the bank (add, reauth, reconsent, refresh),
//! syncing now or as soon as allowed, completing or cancelling an authorization, removing, and
//! the reads the detail page and journal need.

use chrono::{DateTime, Utc};
use moneyhub::{BankChoice, Purpose};
use serde::{Deserialize, Serialize};

use super::Workspace;
use crate::deep_link::AuthCallback;
use crate::error::Error;
use crate::flows::{Connected, ConnectionDetail, Flows, PendingView, SyncOrQueue, TransactionPage};
use crate::health::Action;
use crate::journal::AuthorizationPurpose;
use crate::locks::lock;
use crate::store::{JournalEntry, RemovalReceipt};

/// What a user may start at the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum AuthorizationRequest {
    AddConnection { bank_id: String },
    Reauth { connection_id: String },
    Reconsent { connection_id: String },
    Refresh { connection_id: String },
}

impl Workspace {
    /// Refuses `action` on `connection` unless the core's check allows it.
    fn ensure_allowed(flows: &Flows, connection: &str, action: Action) -> Result<(), Error> {
        let view = flows.connection_view(connection)?;
        match view.health.check(action) {
            Some(check) if !check.allowed => Err(Error::NotAllowed(
                check
                    .reason
                    .map(|reason| reason.describe())
                    .unwrap_or("not allowed for this connection")
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    /// Starts an authorization at the bank: the URL for the system browser.
    pub async fn begin(&self, request: AuthorizationRequest) -> Result<String, Error> {
        let flows = self.flows()?;
        let user_id = flows.user_id().to_string();
        let mut bank_name = None;
        let purpose = match request {
            AuthorizationRequest::AddConnection { bank_id } => {
                // The bank id is pasted into the scope string: a space would add scopes.
                if !is_plain_id(&bank_id) {
                    return Err(Error::NotAllowed("that is not a bank id".into()));
                }
                bank_name = lock(&self.institutions)
                    .iter()
                    .find(|i| i.id == bank_id)
                    .map(|i| i.name.clone());
                Purpose::AddConnection {
                    user_id,
                    bank: BankChoice::Bank(bank_id),
                }
            }
            AuthorizationRequest::Reauth { connection_id } => {
                Self::ensure_allowed(&flows, &connection_id, Action::Reauth)?;
                Purpose::Reauth {
                    user_id,
                    connection_id,
                }
            }
            AuthorizationRequest::Reconsent { connection_id } => {
                Self::ensure_allowed(&flows, &connection_id, Action::Reconsent)?;
                Purpose::Reconsent {
                    user_id,
                    connection_id,
                    expires_at: None,
                }
            }
            AuthorizationRequest::Refresh { connection_id } => {
                Self::ensure_allowed(&flows, &connection_id, Action::Refresh)?;
                Purpose::Refresh {
                    user_id,
                    connection_id,
                }
            }
        };
        Ok(flows
            .begin(purpose, bank_name.as_deref())
            .await?
            .to_string())
    }

    /// Completes an authorization from the callback the deep-link parser typed.
    pub async fn complete(&self, callback: &AuthCallback) -> Result<Connected, Error> {
        let flows = self.flows()?;
        // Which trip this answers, read before completing takes it off the list: a failed
        // renewal settles the batch only when it was the batch's own trip.
        let trip = flows
            .pending_authorizations()?
            .into_iter()
            .find(|pending| pending.state == callback.state);
        let connected = match flows.complete(callback).await {
            Ok(connected) => connected,
            Err(err) => {
                let err = Error::from(err);
                if let Some(connection) = trip
                    .filter(|trip| trip.purpose == AuthorizationPurpose::Reconsent)
                    .and_then(|trip| trip.connection_id)
                {
                    self.renewal_failed(&flows, &connection, &err.to_string());
                }
                return Err(err);
            }
        };
        if connected.purpose == AuthorizationPurpose::Reconsent {
            let previous = connected
                .previous_connection_id
                .as_deref()
                .unwrap_or(&connected.connection_id);
            self.renewal_finished(&flows, previous, &connected.connection_id);
        }
        Ok(connected)
    }

    /// Expires the trips to the bank that ran out; a renewal among them is settled as failed.
    pub(crate) fn expire_trips(&self, flows: &Flows) -> Result<Vec<PendingView>, Error> {
        let expired = flows.expire_pending()?;
        for trip in &expired {
            if trip.purpose == AuthorizationPurpose::Reconsent
                && let Some(connection) = &trip.connection_id
            {
                self.renewal_failed(flows, connection, "The bank did not send you back in time.");
            }
        }
        Ok(expired)
    }

    /// Cancels one of the active profile's pending authorizations.
    pub fn cancel(&self, state: &str) -> Result<bool, Error> {
        Ok(self.flows()?.cancel(state)?)
    }

    /// What still waits for the bank; any that ran out are expired first (and announced), so
    /// the answer never lists a request the core has given up on.
    pub fn pending_authorizations(&self) -> Result<Vec<PendingView>, Error> {
        let flows = self.flows()?;
        self.expire_trips(&flows)?;
        Ok(flows.pending_authorizations()?)
    }

    /// A manual sync now, with the user's IP.
    pub async fn sync_now(&self, connection: &str) -> Result<(), Error> {
        let flows = self.flows()?;
        let ip = self.customer_ip()?;
        flows.sync_now(connection, ip).await?;
        watch_syncs(flows);
        Ok(())
    }

    /// Moneyhub's record of a connection's syncs, newest first (kept ones when offline).
    pub async fn sync_history(
        &self,
        connection: &str,
    ) -> Result<Vec<crate::store::SyncRun>, Error> {
        Ok(self.flows()?.sync_history(connection).await?)
    }

    /// "Sync as soon as allowed": runs now if allowed, else queues it (in the store) and says
    /// when it will run.
    pub async fn sync_when_allowed(
        &self,
        connection: &str,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        let flows = self.flows()?;
        let ip = self.customer_ip()?;
        Ok(match flows.sync_when_allowed(connection, ip).await? {
            SyncOrQueue::Synced => {
                watch_syncs(flows);
                None
            }
            SyncOrQueue::Queued(at) => Some(at),
        })
    }

    /// The active profile's queued syncs, and when each runs.
    pub fn queued_syncs(&self) -> Result<Vec<(String, DateTime<Utc>)>, Error> {
        match self.flows() {
            Ok(flows) => Ok(flows.queued_syncs()?),
            Err(Error::NoProfile) => Ok(Vec::new()),
            Err(err) => Err(err),
        }
    }

    pub async fn remove(&self, connection: &str) -> Result<RemovalReceipt, Error> {
        Ok(self.flows()?.remove(connection).await?)
    }

    pub fn connection_detail(&self, connection: &str) -> Result<ConnectionDetail, Error> {
        Ok(self.flows()?.connection_detail(connection)?)
    }

    pub fn transactions(
        &self,
        connection: &str,
        search: &str,
        limit: u32,
        offset: u32,
    ) -> Result<TransactionPage, Error> {
        Ok(self
            .flows()?
            .transactions(connection, search, limit, offset)?)
    }

    pub fn journal(&self) -> Result<Vec<JournalEntry>, Error> {
        Ok(self.flows()?.journal()?)
    }
}

/// Moneyhub's bank and user ids are short runs of letters, digits, `-` and `_`.
pub(super) fn is_plain_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Asks Moneyhub about the profile's background syncs soon and then less often (2 s, 4 s, 8 s…
/// up to 30 s between asks), until none is running; the poller step takes over after a restart
/// or past the last ask. Off the caller's task, so "Sync now" answers at once.
pub(super) fn watch_syncs(flows: std::sync::Arc<crate::flows::Flows>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        for attempt in 0..40_u32 {
            let wait = std::time::Duration::from_secs(2_u64.saturating_pow(attempt + 1).min(30));
            tokio::time::sleep(wait).await;
            match flows.check_syncs_in_flight().await {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) => tracing::info!(%err, "could not ask about a sync; trying later"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::is_plain_id;

    #[test]
    fn a_bank_id_cannot_carry_scopes_or_paths() {
        assert!(is_plain_id("1ffe704d39629a929c8e293880fb449a"));
        assert!(!is_plain_id("1ffe704d id_token:read"));
        assert!(!is_plain_id("../x"));
        assert!(!is_plain_id(""));
        assert!(!is_plain_id(&"a".repeat(65)));
    }
}
