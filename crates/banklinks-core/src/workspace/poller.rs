//! The background poller's step. Webhooks cannot reach a desktop, so the shell calls
//! [`Workspace::tick`] about every 30 seconds: it runs the queued "sync as soon as allowed"
//! requests that are due, lets pending authorizations that ran out expire (the core owns their
//! lifetime), refreshes when the backed-off interval has passed, and returns the notices not
//! given before (each journalled, so it is given once across restarts).

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use super::{CUSTOMER_IP, Workspace};
use crate::error::Error;
use crate::flows::Flows;
use crate::journal::JournalEvent;
use crate::locks::lock;
use crate::notices::{self, Notice};
use crate::store::Actor;

/// How often the poller refreshes when all is well, and the most it backs off to.
pub const POLL_INTERVAL: Duration = Duration::minutes(5);
pub const POLL_MAX_BACKOFF: Duration = Duration::minutes(60);

/// The wait before the next poll after `failures` failed ones in a row: the interval, doubled
/// per failure, capped, so an outage costs Moneyhub (and the battery) little.
pub fn poll_delay(failures: u32) -> Duration {
    let factor = 1_i32.checked_shl(failures.min(16)).unwrap_or(i32::MAX);
    (POLL_INTERVAL * factor).min(POLL_MAX_BACKOFF)
}

/// What one poller step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickOutcome {
    pub refreshed: bool,
    pub synced: Vec<String>,
    /// States of pending authorizations that ran out in this step.
    pub expired_authorizations: Vec<String>,
    /// The environment's clock jumped since the last step (the UI was told).
    pub clock_jumped: bool,
    pub notices: Vec<Notice>,
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct PollState {
    next_refresh: Option<DateTime<Utc>>,
    failures: u32,
    /// The environment's clock minus the wall clock at the last step: when it moves, someone
    /// moved the Demo clock (a presenter with `curl`, a test) and the UI's clock is wrong.
    clock_offset: Option<Duration>,
}

/// How far the environment's clock may drift from the wall clock between steps before the UI
/// is told (request latency and rounding stay well under it).
const CLOCK_JUMP: Duration = Duration::seconds(5);

impl Workspace {
    /// The IP sent with user-requested syncs (a setting, else the default route's interface).
    pub(super) fn customer_ip(&self) -> Result<Option<std::net::IpAddr>, Error> {
        let setting = lock(&self.store).setting(CUSTOMER_IP)?;
        Ok(crate::network::customer_ip(setting.as_deref()))
    }

    /// Clears every profile's expired authorizations with their verifier and nonce, not only
    /// the active profile's: a profile nobody opens again must not keep secrets in the
    /// keychain. (The active profile's are journalled and announced by `expire_pending` first.)
    pub(super) fn sweep_expired_authorizations(&self, now: DateTime<Utc>) -> Result<(), Error> {
        let expired = lock(&self.store).expired_pending_everywhere(now)?;
        for (environment, state) in expired {
            for what in ["verifier", "nonce"] {
                self.keychain.delete(&crate::flows::pending_secret_account(
                    &environment,
                    &state,
                    what,
                ))?;
            }
            lock(&self.store).take_pending(&state)?;
        }
        Ok(())
    }

    /// One step of the background poller; see the module docs.
    pub async fn tick(&self, wall_now: DateTime<Utc>) -> TickOutcome {
        let mut outcome = TickOutcome::default();
        let active = self.flows().ok();
        // The open profile's expired authorizations are journalled and announced first; then
        // every other profile's go quietly, even with none open (the first tick runs as the
        // app starts).
        if let Some(flows) = &active {
            match self.expire_trips(flows) {
                Ok(expired) => {
                    outcome.expired_authorizations = expired.into_iter().map(|p| p.state).collect();
                }
                Err(err) => tracing::warn!(%err, "could not expire pending authorizations"),
            }
        }
        if let Err(err) = self.sweep_expired_authorizations(self.now().max(wall_now)) {
            tracing::warn!(%err, "could not clear expired authorizations' secrets");
        }
        let Some(flows) = active else {
            return outcome;
        };
        let offset = flows.now() - wall_now;
        let jumped = lock(&self.poll)
            .clock_offset
            .replace(offset)
            .is_some_and(|before| (offset - before).abs() > CLOCK_JUMP);
        if jumped {
            outcome.clock_jumped = true;
            self.overview_changed();
        }
        if let Err(err) = flows.check_syncs_in_flight().await {
            tracing::info!(%err, "could not ask about syncs in flight");
        }
        let run = flows.run_due_syncs().await;
        if !run.synced.is_empty() {
            super::actions::watch_syncs(flows.clone());
        }
        outcome.synced = run.synced;
        let refresh_due = lock(&self.poll)
            .next_refresh
            .is_none_or(|at| at <= wall_now);
        // A queued sync already refreshed what it synced.
        if refresh_due {
            let result = self.refresh().await;
            let mut poll = lock(&self.poll);
            match result {
                Ok(()) => {
                    poll.failures = 0;
                    outcome.refreshed = true;
                }
                Err(err) => {
                    poll.failures = poll.failures.saturating_add(1);
                    outcome.error = Some(err.to_string());
                }
            }
            poll.next_refresh = Some(wall_now + poll_delay(poll.failures));
        }
        match self.take_notices(&flows) {
            Ok(notices) => outcome.notices = notices,
            Err(err) => tracing::warn!(%err, "could not work out notices"),
        }
        outcome
    }

    /// Notices due now that were never given; each is journalled so it is given once.
    pub(crate) fn take_notices(&self, flows: &Flows) -> Result<Vec<Notice>, Error> {
        let views = flows.dashboard()?;
        let store = lock(&self.store);
        let already: HashSet<String> = store.notified_keys(flows.profile())?.into_iter().collect();
        let due = notices::due(&views, &already);
        for notice in &due {
            let event = if notice.key.starts_with("consent:") {
                JournalEvent::ReminderDue {
                    key: notice.key.clone(),
                    text: notice.body.clone(),
                }
            } else {
                JournalEvent::AttentionNeeded {
                    key: notice.key.clone(),
                    text: notice.body.clone(),
                }
            };
            store.append_journal(
                flows.profile(),
                Some(&notice.connection_id),
                &event,
                Actor::Automatic,
                flows.now(),
            )?;
        }
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poller_backs_off_by_doubling_up_to_an_hour_and_starts_at_five_minutes() {
        assert_eq!(poll_delay(0), Duration::minutes(5));
        assert_eq!(poll_delay(1), Duration::minutes(10));
        assert_eq!(poll_delay(2), Duration::minutes(20));
        assert_eq!(poll_delay(3), Duration::minutes(40));
        assert_eq!(poll_delay(4), Duration::minutes(60));
        assert_eq!(poll_delay(40), Duration::minutes(60));
    }
}
