//! Fetches everything for one user — 20 connections, 60 accounts, ~100,000 transactions — from
//! the in-process sandbox over loopback, and reports wall time, requests made and the client's
//! peak memory, the median of five rounds, each by a new client. Run:
//! `cargo bench -p moneyhub --bench fetch`.
//!
//! Accounts come in one request for the whole user (as the app's refresh asks); connections'
//! transactions are fetched four at a time over one keep-alive client; transactions are read a
//! page (1000) at a time and only counted, so memory follows the page size, not the history.
//!
//! Then the same user adds a 21st connection the way the app does (authorization, then that
//! connection alone: the list, its accounts, its transactions), and the requests it cost are
//! printed by kind: the other 20 connections must cost nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moneyhub::api::TransactionQuery;
use moneyhub::{ClientAuth, Config, Moneyhub};
use moneyhub_sandbox::clients::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI};
use moneyhub_sandbox::{RunningSandbox, SandboxConfig};
use tokio::sync::Semaphore;

const CONNECTIONS: usize = 20;
const IN_FLIGHT: usize = 4;
const ROUNDS: usize = 5;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One full fetch by one client.
struct Round {
    wall: Duration,
    requests: u64,
    connections: usize,
    accounts: usize,
    transactions: usize,
    baseline_kb: u64,
    peak_kb: u64,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sandbox = RunningSandbox::start(SandboxConfig { manual_clock_start: Some(chrono::Utc::now()), ..SandboxConfig::default() }).await.expect("sandbox");
        let user = sandbox.populate_with(DEMO_CLIENT_ID, 1, CONNECTIONS, true).remove(0);
        let new_client = || {
            let config = Config::new(
                url::Url::parse(&sandbox.identity_url()).expect("url"),
                url::Url::parse(&sandbox.api_url()).expect("url"),
                DEMO_CLIENT_ID,
                ClientAuth::SecretBasic { secret: DEMO_CLIENT_SECRET.into() },
                DEMO_REDIRECT_URI,
            );
            Arc::new(Moneyhub::new(config).expect("client"))
        };
        // A fresh client each round (nothing cached: no token, no discovery), the same sandbox.
        let mut rounds = Vec::new();
        let mut client = new_client();
        for round in 0..ROUNDS {
            if round > 0 {
                client = new_client();
            }
            rounds.push(fetch_everything(&client, &user).await);
        }
        let mut walls: Vec<f64> = rounds.iter().map(|r| r.wall.as_secs_f64()).collect();
        walls.sort_by(f64::total_cmp);
        let first = &rounds[0];
        assert!(
            rounds.iter().all(|r| r.requests == first.requests && r.transactions == first.transactions),
            "every round fetches the same"
        );
        println!(
            "fetched {} connections, {} accounts, {} transactions with {} requests; wall time median {:.3} s of {ROUNDS} rounds (fastest {:.3}, slowest {:.3}); peak RSS {:.1} MB over the {:.1} MB before fetching (the highest of the rounds)",
            first.connections,
            first.accounts,
            first.transactions,
            first.requests,
            walls[ROUNDS / 2],
            walls[0],
            walls[ROUNDS - 1],
            rounds.iter().map(|r| r.peak_kb.saturating_sub(r.baseline_kb)).max().unwrap_or(0) as f64 / 1024.0,
            first.baseline_kb as f64 / 1024.0,
        );
        add_a_connection(&client, &user).await;
        sandbox.stop().await;
    });
}

async fn fetch_everything(client: &Arc<Moneyhub>, user: &str) -> Round {
    // Sample the process's memory while the client works.
    let baseline = rss_kb();
    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kb(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let started = Instant::now();
    let connections = client.connections(user).await.expect("connections");
    // As the app's refresh does: every account in one request, then each connection's
    // transactions.
    let mut by_connection: std::collections::HashMap<String, Vec<moneyhub::models::Account>> =
        std::collections::HashMap::new();
    for account in client.all_accounts(user).await.expect("accounts") {
        by_connection
            .entry(account.connection_id.clone().expect("connectionId"))
            .or_default()
            .push(account);
    }
    let limit = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = Vec::new();
    for connection in connections.clone() {
        let (client, user, limit) = (client.clone(), user.to_string(), limit.clone());
        let accounts = by_connection.remove(&connection.id).unwrap_or_default();
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore");
            let query = TransactionQuery {
                account_ids: accounts.iter().map(|a| a.id.clone()).collect(),
                ..TransactionQuery::default()
            };
            let mut pages = client.transactions(&user, query);
            let mut count = 0usize;
            while let Some(page) = pages.next_page().await.expect("page") {
                count += page.len();
            }
            (accounts.len(), count)
        }));
    }
    let (mut accounts, mut transactions) = (0, 0);
    for task in tasks {
        let (a, t) = task.await.expect("task");
        accounts += a;
        transactions += t;
    }
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    Round {
        wall,
        requests: client.requests_sent(),
        connections: connections.len(),
        accounts,
        transactions,
        baseline_kb: baseline,
        peak_kb: peak.load(Ordering::Relaxed),
    }
}

/// The app's add-connection flow against a user who already has 20 connections.
async fn add_a_connection(client: &Moneyhub, user: &str) {
    let before = client.requests_sent();
    let begun = client
        .begin(moneyhub::auth::Purpose::AddConnection {
            user_id: user.to_string(),
            bank: moneyhub::auth::BankChoice::Bank("1ffe704d39629a929c8e293880fb449a".into()),
        })
        .await
        .expect("begin");
    let authorization = client.requests_sent() - before;
    // The person at the bank: the browser's requests, not the client's.
    let redirect = moneyhub_sandbox::journey::walk(begun.url.as_str(), &[])
        .await
        .expect("journey");
    let callback = moneyhub::auth::Callback::parse(&redirect).expect("callback");
    let mid = client.requests_sent();
    let done = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("complete");
    let completion = client.requests_sent() - mid;
    let mid = client.requests_sent();
    client.connections(user).await.expect("connections");
    let accounts = client
        .accounts(user, Some(&done.connection_id))
        .await
        .expect("accounts");
    let query = TransactionQuery {
        account_ids: accounts.iter().map(|a| a.id.clone()).collect(),
        ..TransactionQuery::default()
    };
    let mut pages = client.transactions(user, query);
    while pages.next_page().await.expect("page").is_some() {}
    let data = client.requests_sent() - mid;
    println!(
        "adding a 21st connection: {} requests ({authorization} to start the authorization, {completion} to complete it (the code exchange, and the signing keys the first time an id_token is checked), {data} for that connection's list, accounts and transactions; none for the other 20)",
        client.requests_sent() - before,
    );
}
