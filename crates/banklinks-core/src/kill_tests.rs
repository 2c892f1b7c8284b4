//! Killed mid-operation: a process runs adds, refreshes, syncs, clock moves and removals
//! against a Demo workspace in a real data folder and is killed with SIGKILL at a random
//! moment. Each time the SQLite file must pass `PRAGMA integrity_check`, the workspace must
//! open again, and after one refresh its connections must be Moneyhub's, with no transaction
//! of Moneyhub's missing.
//!
//! The worker is this test binary run again (`kill_worker`, ignored unless asked for), so no
//! extra program is built. `BANKLINKS_KILL_RUNS` sets the runs (CI a few, `scripts/attack` 50).

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::demo_harness::{add_connection, bank_id};
use crate::keychain::MemoryKeychain;
use crate::workspace::Workspace;

const WORKER_DIR: &str = "BANKLINKS_KILL_WORKER_DIR";

fn runs() -> u32 {
    moneyhub_sandbox::test_support::count_from_env("BANKLINKS_KILL_RUNS", 4)
}

async fn open(dir: &Path) -> Workspace {
    let workspace = Workspace::open(dir.to_path_buf(), Arc::new(MemoryKeychain::default()))
        .await
        .expect("the workspace opens after a kill");
    if workspace
        .overview()
        .await
        .expect("overview")
        .active_profile
        .is_none()
    {
        workspace
            .create_profile("Killed", None)
            .await
            .expect("profile");
    }
    workspace
}

/// The worker: busy until killed. Errors are expected (a removed connection, a cooldown);
/// only a panic would end it early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the worker process of the kill test; it never ends by itself"]
async fn kill_worker() {
    let Some(dir) = std::env::var_os(WORKER_DIR) else {
        return;
    };
    let workspace = open(Path::new(&dir)).await;
    let monzo = bank_id(&workspace, "Monzo").await;
    println!("READY");
    let mut step = 0_u64;
    loop {
        step += 1;
        let ids: Vec<String> = workspace
            .dashboard()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.connection.id)
            .collect();
        match (step % 7, ids.first()) {
            (0 | 3, _) | (_, None) if ids.len() < 4 => {
                add_connection(&workspace, &monzo).await;
            }
            (1, Some(id)) => {
                let _ = workspace.sync_now(id).await;
            }
            (2, _) => {
                let _ = workspace.demo_advance_clock("6h").await;
            }
            (4, Some(id)) if ids.len() > 2 => {
                let _ = workspace.remove(id).await;
            }
            (5, _) => {
                let _ = workspace.tick(chrono::Utc::now()).await;
            }
            _ => {
                let _ = workspace.refresh().await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_operation_the_database_is_intact_and_one_refresh_matches_moneyhub() {
    let dir = tempfile::tempdir().expect("temp dir");
    let total = runs();
    let mut dice = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(11, |d| d.subsec_nanos() as u64);
    let (mut intact, mut matched) = (0, 0);
    let mut problems = Vec::new();
    for run in 0..total {
        let mut worker = Command::new(std::env::current_exe().expect("this test binary"))
            .args([
                "--exact",
                "kill_tests::kill_worker",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WORKER_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the worker");
        let stdout = worker.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let ready = lines.any(|line| line.is_ok_and(|l| l.trim_end().ends_with("READY")));
        assert!(ready, "run {run}: the worker did not start");
        dice = dice
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let wait = 100 + (dice >> 33) % 2_500;
        std::thread::sleep(std::time::Duration::from_millis(wait));
        worker.kill().expect("SIGKILL");
        worker.wait().expect("reaped");

        let db = rusqlite::Connection::open(dir.path().join("banklinks.sqlite")).expect("db");
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check");
        drop(db);
        if check == "ok" {
            intact += 1;
        } else {
            problems.push(format!("run {run} (killed after {wait} ms): {check}"));
        }

        let workspace = open(dir.path()).await;
        match workspace.refresh().await {
            Ok(()) => {
                let here: std::collections::BTreeSet<String> = workspace
                    .dashboard()
                    .expect("dashboard")
                    .into_iter()
                    .filter(|v| v.removed_at_source.is_none())
                    .map(|v| v.connection.id)
                    .collect();
                let there = workspace.demo_connection_ids().await;
                let (saved, moneyhub) = workspace.demo_transaction_ids_here_and_there().await;
                let lost = moneyhub.difference(&saved).count();
                if here == there && lost == 0 {
                    matched += 1;
                } else {
                    problems.push(format!(
                        "run {run} (killed after {wait} ms): connections here {here:?}, at Moneyhub {there:?}; {lost} transactions missing"
                    ));
                }
            }
            Err(err) => problems.push(format!(
                "run {run}: the refresh after the kill failed: {err}"
            )),
        }
        workspace.close().await;
    }
    println!(
        "ATTACK\tkilled mid-operation ({total} runs of SIGKILL)\t{total}/{total} intact and matching\t{intact}/{total} integrity ok, {matched}/{total} match Moneyhub after one refresh"
    );
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
