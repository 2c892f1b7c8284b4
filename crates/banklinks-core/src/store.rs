//! The local store: one SQLite file (WAL, `busy_timeout`), migrated by append-only SQL files
//! embedded in the binary. Every multi-row change runs in one transaction, so a process killed
//! in the middle leaves the file as it was before the change. A file that will not open or
//! migrate is moved aside and reported — never wiped.
//!
//! No secret is ever written here (see the migration's header).

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection as Db, TransactionBehavior, params};
use serde::Serialize;

use crate::journal::JournalEvent;

mod journal;
mod pending_and_sync;
mod reads;
mod reconcile;
mod regular;
mod reissued;

pub use reads::BalancePoint;
pub use reconcile::{KEEP_GONE_DATA, SyncInFlight, SyncRun};
pub use regular::RegularPayment;

/// Migrations, in order. Append only: a released migration is never edited.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial", include_str!("store/0001_initial.sql")),
    (
        "0002_app_settings",
        include_str!("store/0002_app_settings.sql"),
    ),
    (
        "0003_queued_syncs",
        include_str!("store/0003_queued_syncs.sql"),
    ),
    (
        "0004_syncs_and_reconciliation",
        include_str!("store/0004_syncs_and_reconciliation.sql"),
    ),
    (
        "0005_journal_bank",
        include_str!("store/0005_journal_bank.sql"),
    ),
    (
        "0006_regular_payments",
        include_str!("store/0006_regular_payments.sql"),
    ),
    (
        "0007_account_identity",
        include_str!("store/0007_account_identity.sql"),
    ),
];

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file could not be opened or migrated; it was moved to `moved_to` and nothing was lost.
    #[error(
        "the database {path} could not be opened ({reason}); it was moved to {moved_to} and a new one can be created"
    )]
    MovedAside {
        path: PathBuf,
        moved_to: PathBuf,
        reason: String,
    },
    /// The file is newer than this version of Banklinks understands.
    #[error(
        "the database was written by a newer Banklinks (schema {found}, this one knows {known})"
    )]
    TooNew { found: i64, known: i64 },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("could not move the broken database aside: {0}")]
    Io(#[from] std::io::Error),
}

pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(text: Option<String>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

#[derive(Debug)]
pub struct Store {
    db: Db,
    path: PathBuf,
}

/// An environment (Demo, Moneyhub or a custom server); its secrets are in the keychain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentRecord {
    pub id: String,
    /// `demo`, `moneyhub` or `custom`.
    pub kind: String,
    pub name: String,
    pub identity_url: String,
    pub api_url: String,
    pub client_id: String,
}

/// A connection as the store keeps it (Moneyhub's fields plus local state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct StoredConnection {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub error: Option<String>,
    pub extended_status: Option<String>,
    #[specta(type = Option<String>)]
    pub connected_on: Option<DateTime<Utc>>,
    #[specta(type = Option<String>)]
    pub last_updated: Option<DateTime<Utc>>,
    #[specta(type = Option<String>)]
    pub last_synced_at: Option<DateTime<Utc>>,
    #[specta(type = Option<String>)]
    pub expires_at: Option<DateTime<Utc>>,
    pub tpp_consent: bool,
    pub single_sync_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct StoredAccount {
    pub id: String,
    pub connection_id: String,
    pub name: String,
    pub account_type: String,
    pub currency: String,
    #[specta(type = f64)]
    pub balance_minor: i64,
    pub balance_date: Option<String>,
    /// When Moneyhub was first seen not to list the account (closed at the bank); it stays as
    /// history.
    #[specta(type = Option<String>)]
    pub removed_at_source: Option<DateTime<Utc>>,
    /// The bank's own id for it (`providerAccountId`), when Moneyhub gives one.
    #[serde(skip)]
    #[specta(skip)]
    pub provider_account_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct StoredTransaction {
    pub id: String,
    pub account_id: String,
    #[specta(type = String)]
    pub booked_at: DateTime<Utc>,
    #[specta(type = f64)]
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub category_id: Option<String>,
    pub pending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    User,
    Automatic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    #[specta(type = f64)]
    pub seq: i64,
    pub connection_id: Option<String>,
    #[specta(type = String)]
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub event: JournalEvent,
    /// The bank it was about, in words (its name when written, or the connection's name now).
    pub bank: Option<String>,
    /// What came of it, where the core words it (how a sync ended).
    pub outcome: Option<String>,
}

/// What removing a connection deleted from this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RemovalReceipt {
    #[specta(type = f64)]
    pub accounts: u64,
    #[specta(type = f64)]
    pub transactions: u64,
    /// What was done, in words: the dashboard's receipt and the announcement say this.
    pub text: String,
}

/// An authorization waiting for its callback, as stored (its secrets are in the keychain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    pub state: String,
    pub purpose_json: String,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// One row of the dashboard: a connection with its accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardRow {
    pub connection: StoredConnection,
    pub accounts: Vec<StoredAccount>,
    /// When Moneyhub was first seen not to list the connection any more.
    pub removed_at_source: Option<DateTime<Utc>>,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            crate::private_folder::create_private_dir(dir)?;
        }
        // Made private before SQLite sees it: its `-wal` and `-shm` take the database's mode.
        if !path.exists() {
            crate::private_folder::create_private_file(path)?;
        }
        match Self::open_and_migrate(path) {
            Ok(db) => Ok(Self {
                db,
                path: path.to_path_buf(),
            }),
            Err(StoreError::TooNew { found, known }) => Err(StoreError::TooNew { found, known }),
            Err(err) if path.exists() => {
                let moved_to = aside_name(path);
                std::fs::rename(path, &moved_to)?;
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    if side.exists() {
                        let _ = std::fs::rename(
                            &side,
                            PathBuf::from(format!("{}{suffix}", moved_to.display())),
                        );
                    }
                }
                Err(StoreError::MovedAside {
                    path: path.to_path_buf(),
                    moved_to,
                    reason: err.to_string(),
                })
            }
            Err(err) => Err(err),
        }
    }

    fn open_and_migrate(path: &Path) -> Result<Db, StoreError> {
        let mut db = Db::open(path)?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        // Reading the schema version also proves the file is a database at all.
        let version: i64 = db.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        for (index, (_, sql)) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        // `quick_check` reads every page and b-tree (what a failing disk or a half-copied file
        // damages) in a tenth of `integrity_check`'s time, which also compares every index with
        // its table: 23 ms against 112 ms (346 ms cold) for a 23 MB store, on the path to the
        // first paint. An index out of step with its table is SQLite's own bug, reported as
        // corruption when used.
        db.query_row("PRAGMA quick_check", [], |row| row.get::<_, String>(0))
            .and_then(|verdict| {
                if verdict == "ok" {
                    Ok(())
                } else {
                    Err(rusqlite::Error::InvalidQuery)
                }
            })?;
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn ensure_environment(
        &self,
        environment: &EnvironmentRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO environments (id, kind, name, identity_url, api_url, client_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, identity_url = excluded.identity_url, api_url = excluded.api_url, client_id = excluded.client_id",
            params![environment.id, environment.kind, environment.name, environment.identity_url, environment.api_url, environment.client_id, iso(now)],
        )?;
        Ok(())
    }

    pub fn ensure_profile(
        &self,
        id: &str,
        environment_id: &str,
        user_id: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO profiles (id, environment_id, user_id, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name",
            params![id, environment_id, user_id, name, iso(now)],
        )?;
        Ok(())
    }

    /// Replaces what the store knows of a profile's connections with Moneyhub's list, in one
    /// transaction. Connections Moneyhub no longer lists are kept (their data is the user's),
    /// but not seen again.
    pub fn save_connections(
        &mut self,
        profile: &str,
        connections: &[StoredConnection],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO connections (profile_id, id, name, kind, status, error, extended_status, connected_on, last_updated, last_synced_at, expires_at, tpp_consent, single_sync_only, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT(profile_id, id) DO UPDATE SET name = excluded.name, kind = excluded.kind, status = excluded.status, error = excluded.error,
                   extended_status = excluded.extended_status, connected_on = excluded.connected_on, last_updated = excluded.last_updated,
                   last_synced_at = excluded.last_synced_at, expires_at = excluded.expires_at, tpp_consent = excluded.tpp_consent,
                   single_sync_only = excluded.single_sync_only, last_seen_at = excluded.last_seen_at, removed_at_source = NULL",
            )?;
            for c in connections {
                upsert.execute(params![
                    profile,
                    c.id,
                    c.name,
                    c.kind,
                    c.status,
                    c.error,
                    c.extended_status,
                    c.connected_on.map(iso),
                    c.last_updated.map(iso),
                    c.last_synced_at.map(iso),
                    c.expires_at.map(iso),
                    c.tpp_consent,
                    c.single_sync_only,
                    iso(now)
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Saves accounts and today's balances, in one transaction.
    pub fn save_accounts(
        &mut self,
        profile: &str,
        accounts: &[StoredAccount],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO accounts (profile_id, id, connection_id, name, account_type, currency, balance_minor, balance_date, updated_at, provider_account_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(profile_id, id) DO UPDATE SET connection_id = excluded.connection_id, name = excluded.name, account_type = excluded.account_type,
                   currency = excluded.currency, balance_minor = excluded.balance_minor, balance_date = excluded.balance_date, updated_at = excluded.updated_at,
                   provider_account_id = COALESCE(excluded.provider_account_id, accounts.provider_account_id)",
            )?;
            let mut balance = tx.prepare_cached(
                "INSERT INTO balances (profile_id, account_id, day, amount_minor, currency) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(profile_id, account_id, day) DO UPDATE SET amount_minor = excluded.amount_minor",
            )?;
            for a in accounts {
                upsert.execute(params![
                    profile,
                    a.id,
                    a.connection_id,
                    a.name,
                    a.account_type,
                    a.currency,
                    a.balance_minor,
                    a.balance_date,
                    iso(now),
                    a.provider_account_id
                ])?;
                let day = a
                    .balance_date
                    .clone()
                    .unwrap_or_else(|| now.format("%Y-%m-%d").to_string());
                balance.execute(params![profile, a.id, day, a.balance_minor, a.currency])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Imports a batch of transactions in one transaction. Ids are Moneyhub's, so a re-import
    /// updates rather than duplicates, and a pending transaction that posts keeps its row.
    /// Returns how many rows were new.
    pub fn import_transactions(
        &mut self,
        profile: &str,
        transactions: &[StoredTransaction],
    ) -> Result<u64, StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before: i64 = tx.query_row(
            "SELECT COUNT(*) FROM transactions WHERE profile_id = ?1",
            [profile],
            |r| r.get(0),
        )?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO transactions (profile_id, id, account_id, booked_at, amount_minor, currency, description, category_id, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(profile_id, id) DO UPDATE SET booked_at = excluded.booked_at, amount_minor = excluded.amount_minor,
                   description = excluded.description, category_id = excluded.category_id, status = excluded.status",
            )?;
            for t in transactions {
                upsert.execute(params![
                    profile,
                    t.id,
                    t.account_id,
                    iso(t.booked_at),
                    t.amount_minor,
                    t.currency,
                    t.description,
                    t.category_id,
                    if t.pending { "pending" } else { "posted" }
                ])?;
            }
        }
        let after: i64 = tx.query_row(
            "SELECT COUNT(*) FROM transactions WHERE profile_id = ?1",
            [profile],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(u64::try_from(after - before).unwrap_or(0))
    }

    pub fn transactions(
        &self,
        profile: &str,
        account: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<StoredTransaction>, StoreError> {
        let mut query = self.db.prepare_cached(
            "SELECT id, account_id, booked_at, amount_minor, currency, description, category_id, status FROM transactions
             WHERE profile_id = ?1 AND account_id = ?2 ORDER BY booked_at DESC, id DESC LIMIT ?3 OFFSET ?4",
        )?;
        let rows = query.query_map(params![profile, account, limit, offset], transaction_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A reauth gave the connection a new id: move its accounts (and with them balances and
    /// transactions) onto the new id, in one transaction, and journal the change.
    pub fn rename_connection(
        &mut self,
        profile: &str,
        old: &str,
        new: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The new row may already exist (fetched from Moneyhub): keep it, move the children.
        let exists: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM connections WHERE profile_id = ?1 AND id = ?2)",
            params![profile, new],
            |r| r.get(0),
        )?;
        if exists {
            tx.execute("UPDATE accounts SET connection_id = ?3 WHERE profile_id = ?1 AND connection_id = ?2", params![profile, old, new])?;
            tx.execute(
                "DELETE FROM connections WHERE profile_id = ?1 AND id = ?2",
                params![profile, old],
            )?;
        } else {
            // ON UPDATE CASCADE carries the accounts along.
            tx.execute(
                "UPDATE connections SET id = ?3 WHERE profile_id = ?1 AND id = ?2",
                params![profile, old, new],
            )?;
        }
        insert_journal(
            &tx,
            profile,
            Some(new),
            None,
            &JournalEvent::Reauthed {
                previous_id: old.to_string(),
            },
            Actor::User,
            now,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a connection and all its local data in one transaction; the journal keeps a
    /// receipt of what went.
    pub fn remove_connection(
        &mut self,
        profile: &str,
        connection: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<RemovalReceipt, StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let accounts: i64 = tx.query_row(
            "SELECT COUNT(*) FROM accounts WHERE profile_id = ?1 AND connection_id = ?2",
            params![profile, connection],
            |r| r.get(0),
        )?;
        let transactions: i64 = tx.query_row(
            "SELECT COUNT(*) FROM transactions WHERE profile_id = ?1 AND account_id IN (SELECT id FROM accounts WHERE profile_id = ?1 AND connection_id = ?2)",
            params![profile, connection],
            |r| r.get(0),
        )?;
        let receipt = RemovalReceipt {
            accounts: u64::try_from(accounts).unwrap_or(0),
            transactions: u64::try_from(transactions).unwrap_or(0),
            text: String::new(),
        };
        // Before the row goes, so the receipt names the bank.
        insert_journal(
            &tx,
            profile,
            Some(connection),
            None,
            &JournalEvent::Removed {
                accounts: receipt.accounts,
                transactions: receipt.transactions,
            },
            actor,
            now,
        )?;
        tx.execute(
            "DELETE FROM connections WHERE profile_id = ?1 AND id = ?2",
            params![profile, connection],
        )?;
        tx.commit()?;
        Ok(receipt)
    }
}

fn transaction_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredTransaction> {
    Ok(StoredTransaction {
        id: row.get(0)?,
        account_id: row.get(1)?,
        booked_at: parse_time(row.get(2)?).unwrap_or_default(),
        amount_minor: row.get(3)?,
        currency: row.get(4)?,
        description: row.get(5)?,
        category_id: row.get(6)?,
        pending: row.get::<_, String>(7)? == "pending",
    })
}

fn pending_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PendingRow> {
    Ok(PendingRow {
        state: row.get(0)?,
        purpose_json: row.get(1)?,
        started_at: parse_time(row.get(2)?).unwrap_or_default(),
        expires_at: parse_time(row.get(3)?).unwrap_or_default(),
    })
}

fn journal_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<JournalEntry> {
    let event = JournalEvent::from_row(&row.get::<_, String>(3)?, &row.get::<_, String>(5)?);
    let outcome = match &event {
        JournalEvent::SyncFinished {
            fetch_status,
            new_transactions,
        } => Some(crate::sync_result::finished(fetch_status.as_ref(), *new_transactions).text),
        _ => None,
    };
    Ok(JournalEntry {
        seq: row.get(0)?,
        connection_id: row.get(1)?,
        at: parse_time(row.get(2)?).unwrap_or_default(),
        event,
        outcome,
        actor: if row.get::<_, String>(4)? == "user" {
            Actor::User
        } else {
            Actor::Automatic
        },
        bank: row.get(6)?,
    })
}

/// The one place a journal row is written. The bank is named as given, else by the
/// connection's name as stored now.
fn insert_journal(
    db: &rusqlite::Connection,
    profile: &str,
    connection: Option<&str>,
    bank: Option<&str>,
    event: &JournalEvent,
    actor: Actor,
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    let actor = match actor {
        Actor::User => "user",
        Actor::Automatic => "automatic",
    };
    db.execute(
        "INSERT INTO journal (profile_id, connection_id, at, event, actor, details_json, bank) VALUES (?1, ?2, ?3, ?4, ?5, ?6, COALESCE(?7, (SELECT name FROM connections WHERE profile_id = ?1 AND id = ?2)))",
        params![profile, connection, iso(now), event.kind(), actor, event.details().to_string(), bank],
    )
}

fn aside_name(path: &Path) -> PathBuf {
    let stamp = Utc::now().format("%Y%m%dT%H%M%S");
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".broken-{stamp}"));
    path.with_file_name(name)
}
