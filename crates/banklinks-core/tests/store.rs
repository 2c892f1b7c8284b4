//! The store on a real SQLite file.

use std::process::Command;

use banklinks_core::journal::JournalEvent;
use banklinks_core::store::{
    Actor, EnvironmentRecord, Store, StoreError, StoredAccount, StoredConnection,
    StoredTransaction, SyncRun,
};
use chrono::{DateTime, Duration, TimeZone, Utc};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid")
}

fn connection(id: &str) -> StoredConnection {
    StoredConnection {
        id: id.into(),
        name: "Monzo".into(),
        kind: "api".into(),
        status: "ok".into(),
        error: None,
        extended_status: None,
        connected_on: Some(now()),
        last_updated: Some(now()),
        last_synced_at: Some(now()),
        expires_at: Some(now() + Duration::days(90)),
        tpp_consent: true,
        single_sync_only: false,
    }
}

fn account(id: &str, connection: &str, balance: i64) -> StoredAccount {
    StoredAccount {
        id: id.into(),
        connection_id: connection.into(),
        name: "Current Account".into(),
        account_type: "cash:current".into(),
        currency: "GBP".into(),
        balance_minor: balance,
        balance_date: Some("2026-03-02".into()),
        removed_at_source: None,
        provider_account_id: None,
    }
}

fn transaction(id: &str, account: &str, pending: bool, days_ago: i64) -> StoredTransaction {
    StoredTransaction {
        id: id.into(),
        account_id: account.into(),
        booked_at: now() - Duration::days(days_ago),
        amount_minor: -1_250,
        currency: "GBP".into(),
        description: "TESCO".into(),
        category_id: Some("std:groceries".into()),
        pending,
    }
}

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("banklinks.sqlite")).expect("open");
    store
        .ensure_environment(
            &EnvironmentRecord {
                id: "demo".into(),
                kind: "demo".into(),
                name: "Demo".into(),
                identity_url: "http://127.0.0.1:1".into(),
                api_url: "http://127.0.0.1:1/v3".into(),
                client_id: "banklinks-demo".into(),
            },
            now(),
        )
        .expect("env");
    store
        .ensure_profile("p1", "demo", "user-1", "Alex", now())
        .expect("profile");
    (dir, store)
}

/// Connection `bank:1` with account `a1` (balance 100.00) in profile `p1`.
fn with_one_account(store: &mut Store) {
    store
        .save_connections("p1", &[connection("bank:1")], now())
        .expect("connections");
    store
        .save_accounts("p1", &[account("a1", "bank:1", 10_000)], now())
        .expect("accounts");
}

#[test]
fn connections_accounts_and_transactions_round_trip_without_duplicates() {
    let (_dir, mut store) = fresh();
    with_one_account(&mut store);
    let first = store
        .import_transactions(
            "p1",
            &[
                transaction("t1", "a1", true, 0),
                transaction("t2", "a1", false, 3),
            ],
        )
        .expect("import");
    assert_eq!(first, 2);
    // The same batch again, with t1 posted: no new rows, and t1 keeps its id.
    let again = store
        .import_transactions(
            "p1",
            &[
                transaction("t1", "a1", false, 0),
                transaction("t2", "a1", false, 3),
            ],
        )
        .expect("import");
    assert_eq!(again, 0);
    let rows = store.transactions("p1", "a1", 10, 0).expect("rows");
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|t| !t.pending), "t1 posted in place");
    assert_eq!(rows[0].id, "t1", "newest first");

    let dashboard = store.dashboard("p1").expect("dashboard");
    assert_eq!(dashboard.len(), 1);
    assert_eq!(dashboard[0].accounts[0].balance_minor, 10_000);
}

#[test]
fn a_reauth_with_a_new_id_moves_the_data_and_keeps_the_journal_joined() {
    let (_dir, mut store) = fresh();
    store
        .save_connections("p1", &[connection("bank:old")], now())
        .expect("connections");
    store
        .save_accounts("p1", &[account("a1", "bank:old", 1)], now())
        .expect("accounts");
    store
        .import_transactions("p1", &[transaction("t1", "a1", false, 1)])
        .expect("import");
    store
        .append_journal(
            "p1",
            Some("bank:old"),
            &JournalEvent::Added,
            Actor::User,
            now(),
        )
        .expect("journal");
    store
        .rename_connection("p1", "bank:old", "bank:new", now() + Duration::minutes(1))
        .expect("rename");

    let dashboard = store.dashboard("p1").expect("dashboard");
    assert_eq!(dashboard.len(), 1);
    assert_eq!(dashboard[0].connection.id, "bank:new");
    assert_eq!(dashboard[0].accounts.len(), 1);
    assert_eq!(
        store.transactions("p1", "a1", 10, 0).expect("rows").len(),
        1
    );
    let events: Vec<String> = store
        .connection_journal("p1", "bank:new")
        .expect("journal")
        .into_iter()
        .map(|e| e.event.kind())
        .collect();
    assert_eq!(
        events,
        ["added", "reauthed"],
        "the old id's history follows the connection"
    );
}

#[test]
fn removal_deletes_local_data_in_one_go_and_leaves_a_receipt() {
    let (_dir, mut store) = fresh();
    store
        .save_connections("p1", &[connection("bank:1"), connection("bank:2")], now())
        .expect("connections");
    store
        .save_accounts(
            "p1",
            &[
                account("a1", "bank:1", 1),
                account("a2", "bank:1", 2),
                account("a3", "bank:2", 3),
            ],
            now(),
        )
        .expect("accounts");
    store
        .import_transactions(
            "p1",
            &[
                transaction("t1", "a1", false, 1),
                transaction("t2", "a2", false, 1),
                transaction("t3", "a3", false, 1),
            ],
        )
        .expect("import");
    let receipt = store
        .remove_connection("p1", "bank:1", Actor::User, now())
        .expect("remove");
    assert_eq!((receipt.accounts, receipt.transactions), (2, 2));
    assert!(
        store
            .transactions("p1", "a1", 10, 0)
            .expect("rows")
            .is_empty()
    );
    assert_eq!(
        store.transactions("p1", "a3", 10, 0).expect("rows").len(),
        1,
        "other connections untouched"
    );
    let journal = store.journal("p1").expect("journal");
    let removed = journal
        .iter()
        .find(|e| matches!(e.event, JournalEvent::Removed { .. }))
        .expect("a receipt");
    assert_eq!(
        removed.event,
        JournalEvent::Removed {
            accounts: 2,
            transactions: 2
        }
    );
}

#[test]
fn the_journal_cannot_be_rewritten() {
    let (dir, store) = fresh();
    store
        .append_journal("p1", None, &JournalEvent::Added, Actor::Automatic, now())
        .expect("journal");
    drop(store);
    let raw = rusqlite::Connection::open(dir.path().join("banklinks.sqlite")).expect("open raw");
    assert!(
        raw.execute("UPDATE journal SET event = 'forged'", [])
            .is_err()
    );
    assert!(raw.execute("DELETE FROM journal", []).is_err());
}

#[test]
fn a_file_that_is_not_a_database_is_moved_aside_not_wiped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("banklinks.sqlite");
    std::fs::write(&path, b"this is not sqlite, but it is somebody's file").expect("write");
    match Store::open(&path) {
        Err(StoreError::MovedAside { moved_to, .. }) => {
            assert_eq!(
                std::fs::read(&moved_to).expect("kept"),
                b"this is not sqlite, but it is somebody's file"
            );
            assert!(!path.exists());
        }
        other => panic!("expected MovedAside, got {other:?}"),
    }
    // A new database can then be created in its place.
    assert!(Store::open(&path).is_ok());
}

/// A database with a damaged page (a failing disk, a half-copied file) is found at open, moved
/// aside whole and replaced, rather than failing later, mid-refresh.
#[test]
fn a_database_with_a_damaged_page_is_moved_aside_at_open() {
    let (dir, mut store) = fresh();
    with_one_account(&mut store);
    let many: Vec<StoredTransaction> = (0..3_000)
        .map(|n| transaction(&format!("t{n}"), "a1", false, n % 400))
        .collect();
    store.import_transactions("p1", &many).expect("import");
    drop(store);
    let path = dir.path().join("banklinks.sqlite");
    rusqlite::Connection::open(&path)
        .expect("raw")
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    let mut bytes = std::fs::read(&path).expect("read");
    let page = 4096;
    let middle = (bytes.len() / page / 2) * page;
    bytes[middle..middle + page].fill(0xA5);
    std::fs::write(&path, &bytes).expect("damage");
    match Store::open(&path) {
        Err(StoreError::MovedAside { moved_to, .. }) => {
            assert_eq!(std::fs::read(&moved_to).expect("kept"), bytes, "kept whole");
        }
        other => panic!("expected MovedAside, got {other:?}"),
    }
    assert!(Store::open(&path).is_ok(), "a new database in its place");
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("banklinks.sqlite");
    drop(Store::open(&path).expect("create"));
    rusqlite::Connection::open(&path)
        .expect("raw")
        .pragma_update(None, "user_version", 999)
        .expect("bump");
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::TooNew { found: 999, .. })
    ));
    assert!(path.exists(), "left where it was");
}

const CHILD: &str = "BANKLINKS_STORE_TEST_CHILD";

/// A process killed in the middle of an import leaves the database as before the import.
#[test]
fn a_process_killed_mid_import_leaves_the_database_consistent() {
    if let Some(path) = std::env::var_os(CHILD) {
        let mut store = Store::open(std::path::Path::new(&path)).expect("open");
        // Endless imports of large batches; the parent kills us somewhere inside one.
        for round in 0.. {
            let batch: Vec<StoredTransaction> = (0..5_000)
                .map(|n| transaction(&format!("r{round}-{n}"), "a1", false, 1))
                .collect();
            store.import_transactions("p1", &batch).expect("import");
        }
        return;
    }
    let (dir, mut store) = fresh();
    store
        .save_connections("p1", &[connection("bank:1")], now())
        .expect("connections");
    store
        .save_accounts("p1", &[account("a1", "bank:1", 1)], now())
        .expect("accounts");
    drop(store);
    let path = dir.path().join("banklinks.sqlite");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "a_process_killed_mid_import_leaves_the_database_consistent",
            "--nocapture",
        ])
        .env(CHILD, &path)
        .spawn()
        .expect("child");
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    child.kill().expect("kill");
    let _ = child.wait();

    let store = Store::open(&path).expect("reopens after the kill");
    let count: usize = store
        .transactions("p1", "a1", 1_000_000, 0)
        .expect("rows")
        .len();
    assert!(count > 0, "some batches committed before the kill");
    assert_eq!(count % 5_000, 0, "only whole batches: {count}");
}

/// Accounts issued anew take over the kept ones only where it is certain they are the same bank
/// account: by the bank's own id, or by a name and type nothing else shares. Two look-alikes
/// without the bank's id stay apart (history is never merged into the wrong account). Two
/// identical purchases on one day stay two.
#[test]
fn accounts_issued_anew_take_over_only_their_own_history() {
    let (_dir, mut store) = fresh();
    store
        .save_connections("p1", &[connection("bank:1")], now())
        .expect("connections");
    let with_bank_id = |id: &str, bank_id: &str| StoredAccount {
        provider_account_id: Some(bank_id.into()),
        name: format!("Account {bank_id}"),
        ..account(id, "bank:1", 10_000)
    };
    let kept = [
        with_bank_id("old-1", "111"),
        with_bank_id("old-2", "222"),
        account("twin-1", "bank:1", 1),
        account("twin-2", "bank:1", 2),
    ];
    store.save_accounts("p1", &kept, now()).expect("accounts");
    let coffee = |id: &str, account: &str| StoredTransaction {
        description: "COFFEE".into(),
        ..transaction(id, account, false, 1)
    };
    store
        .import_transactions(
            "p1",
            &[coffee("t-old-a", "old-1"), coffee("t-old-b", "old-1")],
        )
        .expect("transactions");

    let listed = [
        with_bank_id("new-2", "222"),
        with_bank_id("new-1", "111"),
        account("twin-3", "bank:1", 1),
        account("twin-4", "bank:1", 2),
    ];
    let adopted = store
        .adopt_reissued_accounts("p1", "bank:1", &listed)
        .expect("adopt");
    let mut adopted: Vec<_> = adopted.into_iter().collect();
    adopted.sort();
    assert_eq!(adopted, ["new-1", "new-2"], "look-alikes are not guessed");

    let page = [coffee("t-new-a", "new-1"), coffee("t-new-b", "new-1")];
    let mut seen = std::collections::HashSet::new();
    let accounts: std::collections::HashSet<String> =
        ["new-1".to_string(), "new-2".to_string()].into();
    store
        .adopt_reissued_transactions("p1", &accounts, &page, &mut seen)
        .expect("adopt transactions");
    assert_eq!(
        store.import_transactions("p1", &page).expect("import"),
        0,
        "both purchases were kept already"
    );
    let mut ids: Vec<String> = store
        .transactions("p1", "new-1", 10, 0)
        .expect("read")
        .into_iter()
        .map(|t| t.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["t-new-a", "t-new-b"]);
}

/// Runs started in the same second come back in the order Moneyhub listed them, whatever
/// their (random) ids, and a later answer's new run goes first.
#[test]
fn sync_runs_of_one_second_keep_moneyhubs_order_not_their_ids() {
    let (_dir, mut store) = fresh();
    with_one_account(&mut store);
    let run = |id: &str, seconds: i64| SyncRun {
        id: id.into(),
        action: Some("client-update".into()),
        fetch_status: None,
        created_at: Some(now() - Duration::seconds(seconds)),
        result: String::new(),
    };
    // Listed newest first; the ids sort the other way round.
    let listed = [run("0-newer", 0), run("f-older", 0), run("a-oldest", 60)];
    store.save_sync_runs("p1", "bank:1", &listed).expect("save");
    let ids = |store: &Store| -> Vec<String> {
        store
            .sync_runs("p1", "bank:1", 10)
            .expect("runs")
            .into_iter()
            .map(|run| run.id)
            .collect()
    };
    assert_eq!(ids(&store), ["0-newer", "f-older", "a-oldest"]);

    let again = [
        run("5-newest", 0),
        run("0-newer", 0),
        run("f-older", 0),
        run("a-oldest", 60),
    ];
    store.save_sync_runs("p1", "bank:1", &again).expect("save");
    assert_eq!(ids(&store), ["5-newest", "0-newer", "f-older", "a-oldest"]);
}
