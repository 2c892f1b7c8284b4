//! The store's journal: append-only rows (a trigger refuses updates and deletes), written
//! through one function, read per profile or per connection following earlier ids.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Actor, JournalEntry, Store, StoreError, insert_journal, journal_row};
use crate::journal::JournalEvent;

impl Store {
    pub fn append_journal(
        &self,
        profile: &str,
        connection: Option<&str>,
        event: &JournalEvent,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        insert_journal(&self.db, profile, connection, event, actor, now)?;
        Ok(self.db.last_insert_rowid())
    }

    /// A connection's journal, including what happened under its earlier ids (a reauth can
    /// change the id; the journal is append-only, so history is followed, not rewritten).
    pub fn connection_journal(
        &self,
        profile: &str,
        connection: &str,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let mut ids = vec![connection.to_string()];
        loop {
            let newest = ids.last().cloned().unwrap_or_default();
            let previous: Option<String> = self
                .db
                .query_row(
                    "SELECT json_extract(details_json, '$.previousId') FROM journal WHERE profile_id = ?1 AND connection_id = ?2 AND event = ?3 AND json_extract(details_json, '$.previousId') IS NOT NULL ORDER BY seq DESC LIMIT 1",
                    params![profile, newest, JournalEvent::reauthed_kind()],
                    |row| row.get(0),
                )
                .optional()?
                .flatten();
            match previous {
                Some(previous) if !ids.contains(&previous) => ids.push(previous),
                _ => break,
            }
        }
        let mut entries = Vec::new();
        let mut query = self.db.prepare_cached(
            "SELECT seq, connection_id, at, event, actor, details_json FROM journal WHERE profile_id = ?1 AND connection_id = ?2 ORDER BY seq",
        )?;
        for id in &ids {
            let rows = query.query_map(params![profile, id], journal_row)?;
            for row in rows {
                entries.push(row?);
            }
        }
        entries.sort_by_key(|entry| entry.seq);
        Ok(entries)
    }

    pub fn journal(&self, profile: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let mut query = self.db.prepare_cached("SELECT seq, connection_id, at, event, actor, details_json FROM journal WHERE profile_id = ?1 ORDER BY seq")?;
        let rows = query.query_map([profile], journal_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
