//! Store benchmark: with 200 connections, 600 accounts and 200,000 transactions in the store,
//! how long the dashboard query takes (target < 20 ms) and how long importing 100,000
//! transactions takes (target < 2 s). Run: `cargo bench -p banklinks-core --bench store`.

use std::time::{Duration, Instant};

use banklinks_core::store::{
    EnvironmentRecord, Store, StoredAccount, StoredConnection, StoredTransaction,
};
use chrono::{Duration as Days, Utc};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("bench.sqlite")).expect("open");
    let now = Utc::now();
    let environment = EnvironmentRecord {
        id: "demo".into(),
        kind: "demo".into(),
        name: "Demo".into(),
        identity_url: "http://127.0.0.1:1".into(),
        api_url: "http://127.0.0.1:1/v3".into(),
        client_id: "banklinks-demo".into(),
    };
    store
        .ensure_environment(&environment, now)
        .expect("environment");
    store
        .ensure_profile("p", "demo", "user", "Bench", now)
        .expect("profile");

    let connections: Vec<StoredConnection> = (0..200)
        .map(|n| StoredConnection {
            id: format!("{n:032x}:{n:08}-0000-4000-8000-000000000000"),
            name: format!("Bank {n}"),
            kind: "api".into(),
            status: "ok".into(),
            error: None,
            extended_status: None,
            connected_on: Some(now),
            last_updated: Some(now),
            last_synced_at: Some(now),
            expires_at: Some(now + Days::days(90)),
            tpp_consent: true,
            single_sync_only: false,
        })
        .collect();
    store
        .save_connections("p", &connections, now)
        .expect("connections");
    let accounts: Vec<StoredAccount> = connections
        .iter()
        .flat_map(|c| {
            (0..3).map(move |k| StoredAccount {
                id: format!("{}-{k}", c.id),
                connection_id: c.id.clone(),
                name: format!("Account {k}"),
                account_type: "cash:current".into(),
                currency: "GBP".into(),
                balance_minor: 123_456,
                balance_date: None,
                removed_at_source: None,
                provider_account_id: None,
            })
        })
        .collect();
    store.save_accounts("p", &accounts, now).expect("accounts");

    let batch = |from: usize, count: usize| -> Vec<StoredTransaction> {
        (from..from + count)
            .map(|n| StoredTransaction {
                id: format!("tx-{n}"),
                account_id: accounts[n % accounts.len()].id.clone(),
                booked_at: now - Days::minutes(n as i64),
                amount_minor: -((n % 10_000) as i64),
                currency: "GBP".into(),
                description: "CARD PAYMENT TO TESCO STORES".into(),
                category_id: Some("std:groceries".into()),
                pending: n % 50 == 0,
            })
            .collect()
    };
    let first = batch(0, 100_000);
    let started = Instant::now();
    let added = store.import_transactions("p", &first).expect("import");
    let import = started.elapsed();
    store
        .import_transactions("p", &batch(100_000, 100_000))
        .expect("import");

    let mut samples = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let rows = store.dashboard("p").expect("dashboard");
        samples.push(started.elapsed());
        assert_eq!(rows.len(), 200);
    }
    samples.sort_unstable();
    let p50 = samples[samples.len() / 2];
    let worst = *samples.last().unwrap_or(&Duration::ZERO);
    println!(
        "import of {added} transactions: {:.2} s ({}); dashboard (200 connections, 600 accounts, 200,000 transactions stored): p50 {:.2} ms, worst {:.2} ms ({})",
        import.as_secs_f64(),
        if import < Duration::from_secs(2) {
            "meets < 2 s"
        } else {
            "MISSES < 2 s"
        },
        p50.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0,
        if worst < Duration::from_millis(20) {
            "meets < 20 ms"
        } else {
            "MISSES < 20 ms"
        },
    );
}
