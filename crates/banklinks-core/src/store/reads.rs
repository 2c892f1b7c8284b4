//! The store's settings, notices given, profile clean-up, and the paged reads behind the
//! detail page (a connection's transactions, an account's balance history).

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::{
    DashboardRow, Store, StoreError, StoredAccount, StoredConnection, StoredTransaction,
    parse_time, transaction_row,
};
use crate::journal::JournalEvent;

/// A day's closing balance of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BalancePoint {
    pub day: String,
    #[specta(type = f64)]
    pub amount_minor: i64,
    pub currency: String,
}

impl Store {
    pub fn environment_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut query = self
            .db
            .prepare_cached("SELECT id FROM environments ORDER BY created_at, id")?;
        let rows = query.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes every profile of an environment with its data (the journal keeps its rows).
    pub fn remove_profiles(&mut self, environment: &str) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM profiles WHERE environment_id = ?1",
            [environment],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Keys of the notices already given to a profile (journalled as `reminder_due` or
    /// `attention_needed`), so each is given once.
    pub fn notified_keys(&self, profile: &str) -> Result<Vec<String>, StoreError> {
        let mut query = self.db.prepare_cached(
            "SELECT json_extract(details_json, '$.key') FROM journal WHERE profile_id = ?1 AND event IN (?2, ?3) AND json_extract(details_json, '$.key') IS NOT NULL",
        )?;
        let [reminder, attention] = JournalEvent::notice_kinds();
        let rows = query.query_map(params![profile, reminder, attention], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An app-wide setting (never a secret).
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT value FROM app_settings WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO app_settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// A connection's transactions, newest first, optionally only those whose description
    /// contains `search` (case-insensitive), one page at a time for a virtualised list.
    pub fn connection_transactions(
        &self,
        profile: &str,
        connection: &str,
        search: &str,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<StoredTransaction>, u64), StoreError> {
        let pattern = format!(
            "%{}%",
            search
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let filter = "FROM transactions WHERE profile_id = ?1 AND account_id IN (SELECT id FROM accounts WHERE profile_id = ?1 AND connection_id = ?2) AND description LIKE ?3 ESCAPE '\\'";
        let total: i64 = self.db.query_row(
            &format!("SELECT COUNT(*) {filter}"),
            params![profile, connection, pattern],
            |r| r.get(0),
        )?;
        let mut query = self.db.prepare_cached(&format!(
            "SELECT id, account_id, booked_at, amount_minor, currency, description, category_id, status {filter} ORDER BY booked_at DESC, id DESC LIMIT ?4 OFFSET ?5"
        ))?;
        let rows = query.query_map(
            params![profile, connection, pattern, limit, offset],
            transaction_row,
        )?;
        Ok((
            rows.collect::<Result<_, _>>()?,
            u64::try_from(total).unwrap_or(0),
        ))
    }

    /// An account's daily balances, oldest first.
    pub fn balance_history(
        &self,
        profile: &str,
        account: &str,
    ) -> Result<Vec<BalancePoint>, StoreError> {
        let mut query = self.db.prepare_cached(
            "SELECT day, amount_minor, currency FROM balances WHERE profile_id = ?1 AND account_id = ?2 ORDER BY day",
        )?;
        let rows = query.query_map(params![profile, account], |r| {
            Ok(BalancePoint {
                day: r.get(0)?,
                amount_minor: r.get(1)?,
                currency: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every transaction id the profile holds (tests compare it with Moneyhub's own).
    #[cfg(test)]
    pub fn all_transaction_ids(
        &self,
        profile: &str,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut query = self
            .db
            .prepare_cached("SELECT id FROM transactions WHERE profile_id = ?1")?;
        let rows = query.query_map([profile], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Store {
    /// Every connection of a profile with its accounts and balances: what the dashboard shows.
    pub fn dashboard(&self, profile: &str) -> Result<Vec<DashboardRow>, StoreError> {
        self.connection_rows(profile, None)
    }

    /// One connection of a profile with its accounts, if the profile has it.
    pub fn connection_row(
        &self,
        profile: &str,
        connection: &str,
    ) -> Result<Option<DashboardRow>, StoreError> {
        Ok(self.connection_rows(profile, Some(connection))?.pop())
    }

    /// A profile's connections (or just `only`) with their accounts.
    fn connection_rows(
        &self,
        profile: &str,
        only: Option<&str>,
    ) -> Result<Vec<DashboardRow>, StoreError> {
        let mut connections = self.db.prepare_cached(
            "SELECT id, name, kind, status, error, extended_status, connected_on, last_updated, last_synced_at, expires_at, tpp_consent, single_sync_only, removed_at_source
             FROM connections WHERE profile_id = ?1 AND (?2 IS NULL OR id = ?2) ORDER BY name, id",
        )?;
        let mut rows: Vec<DashboardRow> = connections
            .query_map(params![profile, only], |row| {
                Ok(DashboardRow {
                    connection: StoredConnection {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        kind: row.get(2)?,
                        status: row.get(3)?,
                        error: row.get(4)?,
                        extended_status: row.get(5)?,
                        connected_on: parse_time(row.get(6)?),
                        last_updated: parse_time(row.get(7)?),
                        last_synced_at: parse_time(row.get(8)?),
                        expires_at: parse_time(row.get(9)?),
                        tpp_consent: row.get(10)?,
                        single_sync_only: row.get(11)?,
                    },
                    accounts: Vec::new(),
                    removed_at_source: parse_time(row.get(12)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut accounts = self.db.prepare_cached(
            "SELECT id, connection_id, name, account_type, currency, balance_minor, balance_date, removed_at_source, provider_account_id FROM accounts WHERE profile_id = ?1 AND (?2 IS NULL OR connection_id = ?2) ORDER BY connection_id, name",
        )?;
        let all = accounts.query_map(params![profile, only], |row| {
            Ok(StoredAccount {
                id: row.get(0)?,
                connection_id: row.get(1)?,
                name: row.get(2)?,
                account_type: row.get(3)?,
                currency: row.get(4)?,
                balance_minor: row.get(5)?,
                balance_date: row.get(6)?,
                removed_at_source: parse_time(row.get(7)?),
                provider_account_id: row.get(8)?,
            })
        })?;
        let index: std::collections::HashMap<String, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.connection.id.clone(), i))
            .collect();
        for account in all {
            let account = account?;
            if let Some(&i) = index.get(&account.connection_id) {
                rows[i].accounts.push(account);
            }
        }
        Ok(rows)
    }
}
