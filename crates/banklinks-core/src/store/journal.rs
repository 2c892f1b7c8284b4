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
        self.append_journal_about(profile, connection, None, event, actor, now)
    }

    /// An entry naming its bank where no stored connection does yet (a trip to add one).
    pub fn append_journal_about(
        &self,
        profile: &str,
        connection: Option<&str>,
        bank: Option<&str>,
        event: &JournalEvent,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        insert_journal(&self.db, profile, connection, bank, event, actor, now)?;
        Ok(self.db.last_insert_rowid())
    }

    /// Entries written before their connection was stored (its `Added`) take the name the
    /// connection has now, or the one a later entry of the same id recorded (a removed one).
    fn name_banks(&self, profile: &str, entries: &mut [JournalEntry]) -> Result<(), StoreError> {
        let mut names: std::collections::HashMap<String, String> = entries
            .iter()
            .filter_map(|e| Some((e.connection_id.clone()?, e.bank.clone()?)))
            .collect();
        let mut query = self
            .db
            .prepare_cached("SELECT id, name FROM connections WHERE profile_id = ?1")?;
        let stored = query.query_map([profile], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        for row in stored {
            let (id, name) = row?;
            names.insert(id, name);
        }
        for entry in entries.iter_mut().filter(|e| e.bank.is_none()) {
            entry.bank = entry
                .connection_id
                .as_ref()
                .and_then(|id| names.get(id).cloned());
        }
        Ok(())
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
            "SELECT seq, connection_id, at, event, actor, details_json, bank FROM journal WHERE profile_id = ?1 AND connection_id = ?2 ORDER BY seq",
        )?;
        for id in &ids {
            let rows = query.query_map(params![profile, id], journal_row)?;
            for row in rows {
                entries.push(row?);
            }
        }
        entries.sort_by_key(|entry| entry.seq);
        self.name_banks(profile, &mut entries)?;
        Ok(entries)
    }

    pub fn journal(&self, profile: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let mut query = self.db.prepare_cached("SELECT seq, connection_id, at, event, actor, details_json, bank FROM journal WHERE profile_id = ?1 ORDER BY seq")?;
        let rows = query.query_map([profile], journal_row)?;
        let mut entries: Vec<JournalEntry> = rows.collect::<Result<_, _>>()?;
        self.name_banks(profile, &mut entries)?;
        Ok(entries)
    }
}
