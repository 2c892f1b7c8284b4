//! Benchmark: cold start to the first dashboard paint, and resident memory after start, of the
//! real app with 50 connections in its store. Needs the desktop session of `scripts/bench-app`
//! (Xvfb, a Secret Service, tauri-driver).
//!
//! The store is prepared first (a Demo user with 50 connections, fetched into SQLite), then the
//! app is launched through WebDriver and timed until 50 connection cards are on the page.

#[allow(dead_code)]
#[path = "../tests/window/support.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use banklinks_core::keychain::OsKeychain;
use banklinks_core::workspace::Workspace;

const CONNECTIONS: usize = 50;
const RUNS: usize = 3;

/// Resident memory (KiB) of the app process and of everything started with its data folder
/// (the WebKit web and network processes inherit its environment).
fn resident_kib(data_dir: &std::path::Path) -> (u64, u64) {
    let marker = format!("BANKLINKS_DATA_DIR={}", data_dir.display());
    let (mut app, mut total) = (0, 0);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let dir = entry.path();
        let Ok(environ) = std::fs::read(dir.join("environ")) else {
            continue;
        };
        if !environ
            .split(|b| *b == 0)
            .any(|var| var == marker.as_bytes())
        {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let rss: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        let name = status
            .lines()
            .find_map(|l| l.strip_prefix("Name:"))
            .unwrap_or_default()
            .trim()
            .to_string();
        if name == "banklinks" {
            app += rss;
        }
        // tauri-driver and WebKitWebDriver carry the marker too; they are the harness.
        if !name.starts_with("tauri-driver") && !name.starts_with("WebKitWebDriver") {
            total += rss;
        }
    }
    (app, total)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut paints = Vec::new();
    let mut memory = Vec::new();
    for run in 0..RUNS {
        let name: &'static str = ["startup-1", "startup-2", "startup-3"][run];
        let prepared = tempfile::tempdir().expect("data folder");
        runtime.block_on(async {
            let keychain = Arc::new(OsKeychain::new(support::keychain_service(name)));
            let workspace = Workspace::open(prepared.path().join("app"), keychain)
                .await
                .expect("prepare the store");
            workspace
                .demo_busy_user(CONNECTIONS)
                .await
                .expect("a user with 50 connections");
            assert_eq!(workspace.dashboard().expect("dashboard").len(), CONNECTIONS);
        });
        // Let the prepared sandbox world reach the disk before the app opens it.
        std::thread::sleep(Duration::from_millis(300));
        let data_dir = prepared.path().join("app");
        let (paint, rss) = runtime.block_on(async {
            let started = Instant::now();
            let app = support::AppSession::start_prepared(name, &[], prepared).await;
            app.wait_for_count("[data-testid=connection-card]", CONNECTIONS)
                .await;
            let paint = started.elapsed();
            tokio::time::sleep(Duration::from_secs(2)).await;
            let rss = resident_kib(&data_dir);
            app.finish().await;
            (paint, rss)
        });
        paints.push(paint);
        memory.push(rss);
    }
    paints.sort();
    let median = paints[paints.len() / 2];
    println!(
        "cold start to first dashboard paint with {CONNECTIONS} connections: median {:.0} ms (runs: {})",
        median.as_secs_f64() * 1000.0,
        paints
            .iter()
            .map(|p| format!("{:.0}", p.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (app, total) in &memory {
        println!(
            "resident memory after start: app process {:.1} MiB, with its WebKit processes {:.1} MiB",
            *app as f64 / 1024.0,
            *total as f64 / 1024.0
        );
    }
}
