//! The store's environments and profiles, pending authorizations (their secrets are in the
//! keychain), manual-sync history and the "sync as soon as allowed" queue.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{PendingRow, Store, StoreError, iso, parse_time, pending_row};
use crate::journal::JournalEvent;

impl Store {
    /// An environment's non-secret settings (JSON), if it exists.
    pub fn environment_settings(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT settings_json FROM environments WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_environment_settings(
        &self,
        id: &str,
        settings_json: &str,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE environments SET settings_json = ?2 WHERE id = ?1",
            params![id, settings_json],
        )?;
        Ok(())
    }

    /// The profiles of an environment: (profile id, Moneyhub user id, name).
    pub fn profiles(&self, environment: &str) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut query = self.db.prepare_cached("SELECT id, user_id, name FROM profiles WHERE environment_id = ?1 ORDER BY created_at, id")?;
        let rows = query.query_map([environment], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// States of every pending authorization in an environment, expired or not (their secrets
    /// must be cleared too).
    pub fn pending_states(&self, environment: &str) -> Result<Vec<String>, StoreError> {
        let mut query = self.db.prepare_cached(
            "SELECT state FROM pending_authorizations WHERE profile_id IN (SELECT id FROM profiles WHERE environment_id = ?1)",
        )?;
        let rows = query.query_map([environment], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes an environment with its profiles and all their data (the journal keeps its rows).
    pub fn remove_environment(&mut self, id: &str) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM environments WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps a pending authorization (no secrets in it) until its callback or expiry.
    pub fn save_pending(
        &self,
        state: &str,
        profile: &str,
        purpose_json: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO pending_authorizations (state, profile_id, purpose_json, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![state, profile, purpose_json, iso(now), iso(expires)],
        )?;
        Ok(())
    }

    /// The profile's pending authorizations that have not expired: (state, purpose JSON, created).
    /// A profile's authorizations still waiting for their callback at `now`.
    pub fn pending(
        &self,
        profile: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<PendingRow>, StoreError> {
        let mut query = self.db.prepare_cached("SELECT state, purpose_json, created_at, expires_at FROM pending_authorizations WHERE profile_id = ?1 AND expires_at > ?2 ORDER BY created_at")?;
        let rows = query.query_map(params![profile, iso(now)], pending_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A profile's authorizations whose time ran out by `now` (not yet taken away).
    pub fn expired_pending(
        &self,
        profile: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<PendingRow>, StoreError> {
        let mut query = self.db.prepare_cached("SELECT state, purpose_json, created_at, expires_at FROM pending_authorizations WHERE profile_id = ?1 AND expires_at <= ?2 ORDER BY created_at")?;
        let rows = query.query_map(params![profile, iso(now)], pending_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every profile's authorizations whose time ran out, with their environment, so their
    /// keychain secrets can go even for a profile nobody opens again.
    pub fn expired_pending_everywhere(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut query = self.db.prepare_cached(
            "SELECT p.environment_id, a.state FROM pending_authorizations a JOIN profiles p ON p.id = a.profile_id WHERE a.expires_at <= ?1",
        )?;
        let rows = query.query_map([iso(now)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn take_pending(&self, state: &str) -> Result<bool, StoreError> {
        Ok(self.db.execute(
            "DELETE FROM pending_authorizations WHERE state = ?1",
            [state],
        )? == 1)
    }

    /// Records an accepted manual sync, or Moneyhub's `Retry-After`.
    pub fn note_manual_sync(
        &self,
        profile: &str,
        connection: &str,
        accepted_at: Option<DateTime<Utc>>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE connections SET last_manual_sync = COALESCE(?3, last_manual_sync), server_retry_at = ?4 WHERE profile_id = ?1 AND id = ?2",
            params![profile, connection, accepted_at.map(iso), retry_at.map(iso)],
        )?;
        Ok(())
    }

    /// Accepted manual syncs of a connection (from the journal) and Moneyhub's last `Retry-After`.
    pub fn manual_sync_history(
        &self,
        profile: &str,
        connection: &str,
    ) -> Result<crate::sync_policy::ManualSyncHistory, StoreError> {
        let (last, retry): (Option<String>, Option<String>) = self
            .db
            .query_row("SELECT last_manual_sync, server_retry_at FROM connections WHERE profile_id = ?1 AND id = ?2", params![profile, connection], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .unwrap_or((None, None));
        let mut query = self.db.prepare_cached("SELECT at FROM journal WHERE profile_id = ?1 AND connection_id = ?2 AND event = ?3 ORDER BY seq DESC LIMIT 20")?;
        let requested = JournalEvent::SyncRequested { status: None }.kind();
        let accepted = query
            .query_map(params![profile, connection, requested], |r| {
                r.get::<_, String>(0)
            })?
            .filter_map(|r| parse_time(r.ok()))
            .collect();
        let mut runs = self.db.prepare_cached(
            "SELECT created_at FROM sync_runs WHERE profile_id = ?1 AND connection_id = ?2 ORDER BY created_at DESC LIMIT 50",
        )?;
        let moneyhub_runs = runs
            .query_map(params![profile, connection], |r| {
                r.get::<_, Option<String>>(0)
            })?
            .filter_map(|r| parse_time(r.ok().flatten()))
            .collect();
        Ok(crate::sync_policy::ManualSyncHistory {
            last_accepted: parse_time(last),
            accepted,
            server_retry_at: parse_time(retry),
            moneyhub_runs,
        })
    }
}

/// "Sync as soon as allowed".
impl Store {
    /// Queues (or moves) a connection's sync to run at `at`.
    pub fn queue_sync(
        &self,
        profile: &str,
        connection: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO queued_syncs (profile_id, connection_id, run_at) VALUES (?1, ?2, ?3) ON CONFLICT(profile_id, connection_id) DO UPDATE SET run_at = excluded.run_at",
            params![profile, connection, iso(at)],
        )?;
        Ok(())
    }

    /// Takes a connection off the queue; whether it was on it.
    pub fn unqueue_sync(&self, profile: &str, connection: &str) -> Result<bool, StoreError> {
        let removed = self.db.execute(
            "DELETE FROM queued_syncs WHERE profile_id = ?1 AND connection_id = ?2",
            params![profile, connection],
        )?;
        Ok(removed > 0)
    }

    /// When a connection's queued sync runs, if one is queued.
    pub fn queued_sync(
        &self,
        profile: &str,
        connection: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<String> = self
            .db
            .query_row(
                "SELECT run_at FROM queued_syncs WHERE profile_id = ?1 AND connection_id = ?2",
                params![profile, connection],
                |r| r.get(0),
            )
            .optional()?;
        Ok(parse_time(at))
    }

    /// A profile's queued syncs with when each runs, soonest first.
    pub fn queued_syncs(&self, profile: &str) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let mut query = self.db.prepare_cached(
            "SELECT connection_id, run_at FROM queued_syncs WHERE profile_id = ?1 ORDER BY run_at, connection_id",
        )?;
        let rows = query.query_map([profile], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut queued = Vec::new();
        for row in rows {
            let (connection, at) = row?;
            if let Some(at) = parse_time(Some(at)) {
                queued.push((connection, at));
            }
        }
        Ok(queued)
    }
}
