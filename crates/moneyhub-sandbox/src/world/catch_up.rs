//! Advancing the world to the clock: background history arriving, automatic syncs in schedule
//! order, consent expiry, reminders, `stoppedSyncing` and the staleness rules, plus the cached
//! "next thing due" that lets a request skip all of it when nothing is.

use chrono::{DateTime, Duration, Utc};

use super::{
    Connection, ConnectionError, ExtendedStatus, FetchStatus, Status, SyncAction, World,
    is_slow_account, months_before, next_automatic_sync,
};
use crate::catalogue::ConnectionType;

/// Moneyhub stops retrying after this long of failures (`stoppedSyncing`).
const STOP_RETRYING_AFTER: Duration = Duration::days(3);

impl World {
    /// Brings the world up to `now`: background history, scheduled syncs, expiry and the
    /// staleness rules, in time order per connection.
    pub fn catch_up(&mut self, now: DateTime<Utc>) {
        if now <= self.caught_up_to {
            return;
        }
        self.complete_due_syncs(now);
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
            .chain(self.next_async_completion())
            .min();
    }

    /// Lets the next catch-up simulate no more than `longest` before `now`, as an admin advance
    /// is bounded: a restored world whose clock was stopped long ago, or planted far ahead,
    /// would otherwise simulate years of syncs under the world's lock. Returns the skipped span.
    pub fn skip_gap_longer_than(
        &mut self,
        now: DateTime<Utc>,
        longest: Duration,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let earliest = now.checked_sub_signed(longest)?;
        if earliest <= self.caught_up_to {
            return None;
        }
        let skipped = (self.caught_up_to, earliest);
        self.caught_up_to = earliest;
        self.invalidate_schedule();
        Some(skipped)
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
        let syncing = schedules_syncs(connection, now);
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
            let syncing = schedules_syncs(connection, cursor);
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
            // A provider's daily cap counts automatic syncs too; Moneyhub's schedule keeps to it.
            let capped = self
                .connections
                .get(id)
                .and_then(|c| self.catalogue.get(&c.bank_id))
                .and_then(crate::catalogue::Institution::daily_sync_cap)
                .is_some_and(|cap| self.syncs_on_uk_day(id, next) >= cap as usize);
            if !capped {
                self.run_sync(id, SyncAction::AutoUpdate, next);
            }
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reminder {
    Reauth,
    Refresh,
}

/// When the reminders for a connection fall (in its current state).
/// Moneyhub's schedule runs for a connection in good standing, and for one whose consent was
/// renewed while it still shows "expired" (a sandbox playing `renewal_waits_for_next_sync`):
/// that next sync is what clears it.
fn schedules_syncs(connection: &Connection, at: DateTime<Utc>) -> bool {
    let renewed =
        connection.extended_status == Some(ExtendedStatus::Expired) && connection.expires_at > at;
    (connection.extended_status.is_none() || renewed) && !connection.awaiting_user
}

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
