//! Load benchmark: start-up and memory with 100 users, 500 connections and ~500,000
//! transactions, then throughput and latency of connection listing and 1000-row transaction
//! pages over loopback HTTP. Run: `cargo bench -p moneyhub-sandbox --bench load`.
//!
//! Targets (2-core machine): ≥ 5,000 req/s and p99 < 10 ms for connection listing,
//! start < 2 s, RSS < 300 MB. Every loop is bounded by a request count and a deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moneyhub_sandbox::clients::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use moneyhub_sandbox::{RunningSandbox, SandboxConfig};
use serde_json::Value;

const USERS: usize = 100;
const CONNECTIONS_PER_USER: usize = 5;
const CONCURRENCY: usize = 16;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn token(http: &reqwest::Client, base: &str, scope: &str, sub: Option<&str>) -> String {
    let mut form = vec![("grant_type", "client_credentials"), ("scope", scope)];
    if let Some(sub) = sub {
        form.push(("sub", sub));
    }
    let body: Value = http
        .post(format!("{base}/oidc/token"))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&form)
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token json");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

struct Report {
    requests: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

/// `CONCURRENCY` workers share `total` requests (or stop at `deadline`).
async fn load(urls: Arc<Vec<(String, String)>>, total: usize, deadline: Duration) -> Report {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .expect("client");
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (http, urls, counter) = (http.clone(), urls.clone(), counter.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= total || started.elapsed() > deadline {
                    break;
                }
                let (url, token) = &urls[n % urls.len()];
                let sent = Instant::now();
                let response = http
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("request");
                assert!(
                    response.status().is_success(),
                    "{} for {url}",
                    response.status()
                );
                let _ = response.bytes().await.expect("body");
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Report {
        requests: latencies.len(),
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

fn print(name: &str, report: &Report, target_rps: Option<f64>) {
    let rps = report.requests as f64 / report.elapsed.as_secs_f64();
    let verdict = match target_rps {
        Some(target) if rps >= target && report.p99 < Duration::from_millis(10) => {
            " (meets ≥ 5,000 req/s, p99 < 10 ms)"
        }
        Some(_) => " (MISSES ≥ 5,000 req/s or p99 < 10 ms)",
        None => "",
    };
    println!(
        "{name:<32} {:>7} requests  {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms{verdict}",
        report.requests,
        rps,
        report.p50.as_secs_f64() * 1000.0,
        report.p99.as_secs_f64() * 1000.0
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let rss_before = rss_mb();
        let started = Instant::now();
        let sandbox = RunningSandbox::start(SandboxConfig { manual_clock_start: Some(chrono::Utc::now()), ..SandboxConfig::default() })
            .await
            .expect("start");
        let users = sandbox.populate(DEMO_CLIENT_ID, USERS, CONNECTIONS_PER_USER);
        let start_up = started.elapsed();
        let state: Value = reqwest::Client::new()
            .get(format!("{}/__sandbox", sandbox.identity_url()))
            .bearer_auth(&sandbox.shared.config.admin_token)
            .send()
            .await
            .expect("state")
            .json()
            .await
            .expect("json");
        let rss = rss_mb();
        println!(
            "start-up with {} users, {} connections, {} transactions: {:.2} s ({}), RSS {:.0} MB (+{:.0} MB for the world) ({})",
            state["users"], state["connections"], state["transactions"], start_up.as_secs_f64(),
            if start_up < Duration::from_secs(2) { "meets < 2 s" } else { "MISSES < 2 s" },
            rss, rss - rss_before,
            if rss < 300.0 { "meets < 300 MB" } else { "MISSES < 300 MB" },
        );

        let base = sandbox.identity_url();
        let http = reqwest::Client::new();
        let read = token(&http, &base, "connection:read", None).await;
        let listing: Vec<(String, String)> = users.iter().map(|u| (format!("{base}/users/{u}/connections"), read.clone())).collect();
        // Warm up, then measure.
        load(Arc::new(listing.clone()), 500, Duration::from_secs(5)).await;
        print("GET /users/{id}/connections", &load(Arc::new(listing), 30_000, Duration::from_secs(15)).await, Some(5_000.0));

        let mut pages = Vec::new();
        for user in users.iter().take(20) {
            let token = token(&http, &base, "transactions:read:all", Some(user)).await;
            pages.push((format!("{base}/v3/transactions?limit=1000"), token));
        }
        load(Arc::new(pages.clone()), 50, Duration::from_secs(5)).await;
        print("GET /transactions?limit=1000", &load(Arc::new(pages), 2_000, Duration::from_secs(20)).await, None);
        sandbox.stop().await;
    });
}
