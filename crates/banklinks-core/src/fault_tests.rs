//! Syncs and refreshes under Moneyhub's bad days, randomised: 5xx, 429 with `Retry-After`,
//! dropped connections, latency and malformed JSON on the routes a refresh and a sync use,
//! while the clock moves (new, posted and re-issued transactions). After each run the faults
//! stop and one refresh must leave exactly Moneyhub's transactions here: none lost, none
//! twice. Every failure on the way must be a typed error the UI can word.
//!
//! `BANKLINKS_FAULT_RUNS` sets the number of runs (CI a few dozen, `scripts/attack` 200);
//! `BANKLINKS_FAULT_SEED` replays one sequence.

use serde_json::{Value, json};

use crate::demo_harness::{add_connection, admin, bank_id, demo_workspace};
use crate::error::ErrorCode;

/// SplitMix64: small, seedable, and enough to pick faults.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const ROUTES: &[&str] = &[
    "/v3/transactions",
    "/v3/accounts",
    "/v3/sync",
    "/users",
    "/oidc/token",
    "/v3/regular-transactions",
];

fn random_rule(dice: &mut Dice) -> Value {
    let path = *dice.pick(ROUTES);
    let rate = [0.3, 0.5, 0.8, 1.0][dice.below(4) as usize];
    match dice.below(6) {
        0 => json!({ "pathPrefix": path, "status": 429, "rate": rate }),
        1 => json!({ "pathPrefix": path, "status": *dice.pick(&[500, 502, 503]), "rate": rate }),
        2 => json!({ "pathPrefix": path, "drop": true, "rate": rate }),
        3 => json!({ "pathPrefix": path, "malformed": true, "rate": rate }),
        4 => json!({ "pathPrefix": path, "latencyMs": 50 + dice.below(300), "rate": rate }),
        _ => json!({ "pathPrefix": path, "status": 500, "rate": 1.0, "times": 1 + dice.below(3) }),
    }
}

fn runs() -> u64 {
    moneyhub_sandbox::test_support::count_from_env("BANKLINKS_FAULT_RUNS", 30).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_random_faults_nothing_is_lost_or_duplicated_and_every_failure_is_typed() {
    let seed = std::env::var("BANKLINKS_FAULT_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
        });
    let mut dice = Dice(seed);
    let (_dir, workspace) = demo_workspace("Faults").await;
    let mut connections = Vec::new();
    for bank in ["Monzo", "Sandbox Bank (mortgage and current account)"] {
        let bank = bank_id(&workspace, bank).await;
        connections.push(add_connection(&workspace, &bank).await);
    }
    let (mut failures, mut typed, mut refreshes) = (Vec::new(), 0_u32, 0_u32);
    let total = runs();
    for run in 0..total {
        let rules: Vec<Value> = (0..1 + dice.below(3))
            .map(|_| random_rule(&mut dice))
            .collect();
        admin(&workspace, reqwest::Method::PUT, "/faults", json!(rules)).await;
        for _ in 0..1 + dice.below(3) {
            let connection = dice.pick(&connections).clone();
            let result = match dice.below(5) {
                0 => workspace.refresh().await,
                1 => workspace.sync_now(&connection).await,
                2 => workspace.sync_when_allowed(&connection).await.map(|_| ()),
                3 => {
                    let by: &&str = dice.pick(&["31m", "6h", "1d"]);
                    workspace.demo_advance_clock(by).await.map(|_| ())
                }
                _ => {
                    let outcome = workspace.tick(chrono::Utc::now()).await;
                    match outcome.error {
                        Some(message) if message.is_empty() => {
                            failures.push(format!("run {run}: a tick failed without words"));
                        }
                        _ => {}
                    }
                    Ok(())
                }
            };
            if let Err(err) = result {
                if err.code() == ErrorCode::Internal {
                    failures.push(format!("run {run}: untyped error {err}"));
                } else {
                    typed += 1;
                }
            }
        }
        // Faults stop; Moneyhub's syncs finish; one refresh must bring the truth.
        admin(&workspace, reqwest::Method::DELETE, "/faults", json!({})).await;
        admin(
            &workspace,
            reqwest::Method::POST,
            "/clock",
            json!({ "advance": "5m" }),
        )
        .await;
        if let Err(err) = workspace.refresh().await {
            failures.push(format!(
                "run {run}: the refresh after the faults failed: {err}"
            ));
            continue;
        }
        refreshes += 1;
        let (here, there) = workspace.demo_transaction_ids_here_and_there().await;
        let lost = there.difference(&here).count();
        let extra = here.difference(&there).count();
        if lost + extra > 0 {
            failures.push(format!(
                "run {run}: {lost} lost, {extra} here that Moneyhub no longer has (rules {rules:?})"
            ));
        }
    }
    println!(
        "ATTACK\tfaults during syncs ({total} runs, seed {seed})\t0 lost, 0 duplicated, 0 untyped\t{} failing runs, {typed} typed errors shown, {refreshes}/{total} clean refreshes",
        failures.len()
    );
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
}
