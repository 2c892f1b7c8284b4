//! Keeping the store true to Moneyhub: syncs running in the background, what Moneyhub no
//! longer lists (connections deleted elsewhere, accounts closed at the bank, pending
//! transactions that posted under a new id), and how far each connection's transactions were
//! fetched.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Store, StoreError, iso, parse_time};

/// Transactions gone from the store because Moneyhub no longer lists them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Pending ones (most posted under a new id).
    pub pending: usize,
    /// Posted ones the bank deleted.
    pub posted: usize,
}

/// The setting: "off" deletes what Moneyhub no longer has; anything else keeps it as history.
pub const KEEP_GONE_DATA: &str = "keep_gone_data";

/// One of Moneyhub's own sync runs of a connection (automatic or asked for), as `GET
/// …/connections/{id}/syncs` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
    pub id: String,
    /// `auto-update` (Moneyhub's schedule) or `client-update` (asked for).
    pub action: Option<String>,
    /// How it ended (none while it runs); people read `result`.
    #[serde(skip)]
    #[specta(skip)]
    pub fetch_status: Option<moneyhub::models::FetchStatus>,
    #[specta(type = Option<String>)]
    pub created_at: Option<DateTime<Utc>>,
    /// How it ended, in the core's words ("Running…" while it runs).
    pub result: String,
}

/// A sync Moneyhub runs in the background for a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncInFlight {
    pub connection_id: String,
    pub sync_id: String,
    pub started_at: DateTime<Utc>,
    pub by_user: bool,
}

impl Store {
    pub fn start_sync_in_flight(
        &self,
        profile: &str,
        sync: &SyncInFlight,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO syncs_in_flight (profile_id, connection_id, sync_id, started_at, by_user) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(profile_id, connection_id) DO UPDATE SET sync_id = excluded.sync_id, started_at = excluded.started_at, by_user = excluded.by_user",
            params![profile, sync.connection_id, sync.sync_id, iso(sync.started_at), sync.by_user],
        )?;
        Ok(())
    }

    /// Ends the watch on a connection's sync; whether one was watched.
    pub fn end_sync_in_flight(&self, profile: &str, connection: &str) -> Result<bool, StoreError> {
        Ok(self.db.execute(
            "DELETE FROM syncs_in_flight WHERE profile_id = ?1 AND connection_id = ?2",
            params![profile, connection],
        )? > 0)
    }

    /// When the connection's background sync started, if one runs (one row, by key).
    pub fn sync_in_flight_since(
        &self,
        profile: &str,
        connection: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let started: Option<String> = self
            .db
            .query_row(
                "SELECT started_at FROM syncs_in_flight WHERE profile_id = ?1 AND connection_id = ?2",
                params![profile, connection],
                |r| r.get(0),
            )
            .optional()?;
        Ok(parse_time(started))
    }

    pub fn syncs_in_flight(&self, profile: &str) -> Result<Vec<SyncInFlight>, StoreError> {
        let mut query = self.db.prepare_cached(
            "SELECT connection_id, sync_id, started_at, by_user FROM syncs_in_flight WHERE profile_id = ?1 ORDER BY started_at",
        )?;
        let rows = query.query_map([profile], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (connection_id, sync_id, started_at, by_user) = row?;
            // A row the app wrote has a valid time; one without is not worth watching.
            if let Some(started_at) = parse_time(Some(started_at)) {
                out.push(SyncInFlight {
                    connection_id,
                    sync_id,
                    started_at,
                    by_user,
                });
            }
        }
        Ok(out)
    }

    /// When the connection's transactions were last fetched, if ever.
    pub fn transactions_fetched_at(
        &self,
        profile: &str,
        connection: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let text: Option<Option<String>> = self
            .db
            .query_row(
                "SELECT transactions_fetched_at FROM connections WHERE profile_id = ?1 AND id = ?2",
                params![profile, connection],
                |r| r.get(0),
            )
            .optional()?;
        Ok(parse_time(text.flatten()))
    }

    pub fn set_transactions_fetched_at(
        &self,
        profile: &str,
        connection: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE connections SET transactions_fetched_at = ?3 WHERE profile_id = ?1 AND id = ?2",
            params![profile, connection, iso(at)],
        )?;
        Ok(())
    }

    /// Marks the profile's connections that Moneyhub no longer lists (first time only) and
    /// answers the ids newly marked.
    pub fn mark_connections_gone(
        &mut self,
        profile: &str,
        listed: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut newly = Vec::new();
        {
            let mut query = tx.prepare_cached(
                "SELECT id FROM connections WHERE profile_id = ?1 AND removed_at_source IS NULL",
            )?;
            let known: Vec<String> = query
                .query_map([profile], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut mark = tx.prepare_cached(
                "UPDATE connections SET removed_at_source = ?3 WHERE profile_id = ?1 AND id = ?2",
            )?;
            for id in known.into_iter().filter(|id| !listed.contains(id)) {
                mark.execute(params![profile, id, iso(now)])?;
                newly.push(id);
            }
        }
        tx.commit()?;
        Ok(newly)
    }

    /// Marks a connection's accounts that Moneyhub no longer lists (first time only); answers
    /// the names of those newly marked.
    pub fn mark_accounts_gone(
        &mut self,
        profile: &str,
        connection: &str,
        listed: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut newly = Vec::new();
        {
            let mut query = tx.prepare_cached(
                "SELECT id, name FROM accounts WHERE profile_id = ?1 AND connection_id = ?2 AND removed_at_source IS NULL",
            )?;
            let known: Vec<(String, String)> = query
                .query_map(params![profile, connection], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut mark = tx.prepare_cached(
                "UPDATE accounts SET removed_at_source = ?3 WHERE profile_id = ?1 AND id = ?2",
            )?;
            for (id, name) in known.into_iter().filter(|(id, _)| !listed.contains(id)) {
                mark.execute(params![profile, id, iso(now)])?;
                newly.push(name);
            }
        }
        tx.commit()?;
        Ok(newly)
    }

    /// Keeps Moneyhub's sync runs of a connection, as listed (newest first; the latest answer
    /// wins).
    pub fn save_sync_runs(
        &mut self,
        profile: &str,
        connection: &str,
        runs: &[SyncRun],
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO sync_runs (profile_id, id, connection_id, action, fetch_status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(profile_id, id) DO UPDATE SET action = excluded.action, fetch_status = excluded.fetch_status, created_at = excluded.created_at",
            )?;
            // Oldest listed last goes in first, so a later row is a later run: runs started in
            // the same second keep the order Moneyhub listed them in, not their random ids'.
            for run in runs.iter().rev() {
                upsert.execute(params![
                    profile,
                    run.id,
                    connection,
                    run.action,
                    run.fetch_status.as_ref().map(|status| status.as_wire()),
                    run.created_at.map(iso)
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A connection's sync runs, newest first.
    pub fn sync_runs(
        &self,
        profile: &str,
        connection: &str,
        limit: u32,
    ) -> Result<Vec<SyncRun>, StoreError> {
        let mut query = self.db.prepare_cached(
            "SELECT id, action, fetch_status, created_at FROM sync_runs WHERE profile_id = ?1 AND connection_id = ?2
             ORDER BY created_at DESC, rowid DESC LIMIT ?3",
        )?;
        let rows = query.query_map(params![profile, connection, limit], |r| {
            let fetch_status = r
                .get::<_, Option<String>>(2)?
                .map(|status| moneyhub::models::FetchStatus::from_wire(&status));
            Ok(SyncRun {
                id: r.get(0)?,
                action: r.get(1)?,
                result: crate::sync_result::run(fetch_status.as_ref()),
                fetch_status,
                created_at: parse_time(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The date of the connection's oldest stored transaction: how far its history goes.
    pub fn earliest_transaction(
        &self,
        profile: &str,
        connection: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        // Per account, so each MIN is one step down the (profile, account, date) index; a
        // join scanned every transaction of the profile (66 ms a card at 300,000 of them).
        let day: Option<String> = self.db.query_row(
            "SELECT MIN((SELECT MIN(t.booked_at) FROM transactions t
                         WHERE t.profile_id = a.profile_id AND t.account_id = a.id))
             FROM accounts a WHERE a.profile_id = ?1 AND a.connection_id = ?2",
            params![profile, connection],
            |r| r.get(0),
        )?;
        Ok(parse_time(day))
    }

    /// Deletes a connection's accounts that Moneyhub no longer has, with their data.
    pub fn delete_gone_accounts(&self, profile: &str, connection: &str) -> Result<(), StoreError> {
        self.db.execute(
            "DELETE FROM accounts WHERE profile_id = ?1 AND connection_id = ?2 AND removed_at_source IS NOT NULL",
            params![profile, connection],
        )?;
        Ok(())
    }

    /// The earliest day of a pending transaction on these accounts, if any is pending.
    pub fn earliest_pending_day(
        &self,
        profile: &str,
        accounts: &[String],
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut earliest: Option<DateTime<Utc>> = None;
        let mut query = self.db.prepare_cached(
            "SELECT MIN(booked_at) FROM transactions WHERE profile_id = ?1 AND account_id = ?2 AND status = 'pending'",
        )?;
        for account in accounts {
            let day: Option<String> = query.query_row(params![profile, account], |r| r.get(0))?;
            if let Some(day) = parse_time(day) {
                earliest = Some(earliest.map_or(day, |e| e.min(day)));
            }
        }
        Ok(earliest)
    }

    /// Deletes the transactions on these accounts dated from `since` that Moneyhub no longer
    /// lists (`seen` holds every id it listed from `since`): a pending one that posted under a
    /// new id, or one the bank deleted. Answers how many went of each kind.
    pub fn drop_unlisted(
        &mut self,
        profile: &str,
        accounts: &[String],
        since: DateTime<Utc>,
        seen: &std::collections::HashSet<String>,
    ) -> Result<Dropped, StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut dropped = Dropped::default();
        {
            let mut query = tx.prepare_cached(
                "SELECT id, status FROM transactions WHERE profile_id = ?1 AND account_id = ?2 AND booked_at >= ?3",
            )?;
            let mut delete =
                tx.prepare_cached("DELETE FROM transactions WHERE profile_id = ?1 AND id = ?2")?;
            for account in accounts {
                let rows: Vec<(String, String)> = query
                    .query_map(params![profile, account, iso(since)], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?
                    .collect::<Result<_, _>>()?;
                for (id, status) in rows.into_iter().filter(|(id, _)| !seen.contains(id)) {
                    let gone = delete.execute(params![profile, id])?;
                    if status == "pending" {
                        dropped.pending += gone;
                    } else {
                        dropped.posted += gone;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(dropped)
    }
}
