//! End-to-end tests of the real app window: the built binary under Xvfb, driven through
//! tauri-driver + WebKitWebDriver, with the real Secret Service and session bus.
//!
//! They are `#[ignore]`d because they need that environment; `scripts/test` provides it and runs
//! them with `--ignored --test-threads=1` (WebKit allows one automation session at a time).

#[path = "window/support.rs"]
mod support;

use sha2::{Digest, Sha256};
use support::{AppSession, secret_tool_lookup};

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_the_window_opens_and_renders_the_dashboard() {
    let app = AppSession::start("renders").await;
    let heading = app.wait_for_text("h1", "Your bank connections").await;
    assert!(heading.contains("Your bank connections"));
    let empty = app.text("[data-testid=dashboard-empty]").await;
    assert!(empty.contains("No connections yet"), "{empty}");

    app.click("[data-testid=nav-settings]").await;
    app.wait_for_text("h1", "Settings").await;
    app.wait_for_text("[data-testid=keychain-status]", "Available")
        .await;
    app.screenshot("settings").await;

    app.click("[data-testid=nav-dashboard]").await;
    app.wait_for_text("h1", "Your bank connections").await;
    app.screenshot("dashboard").await;
    app.finish().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_a_secret_round_trips_through_the_real_secret_service_and_is_gone_after_delete() {
    let app = AppSession::start("keychain").await;
    let service = app.keychain_service().to_string();
    let account = "diagnostics/keychain-probe";
    assert_eq!(
        secret_tool_lookup(&service, account),
        None,
        "probe left from an earlier run"
    );

    app.click("[data-testid=nav-settings]").await;
    app.wait_for_text("[data-testid=keychain-status]", "Secret Service")
        .await;

    app.click("[data-testid=probe-write]").await;
    let fingerprint = app
        .wait_for_text("[data-testid=probe-fingerprint]", "")
        .await;
    assert_eq!(fingerprint.len(), 16, "fingerprint {fingerprint:?}");

    // The keychain itself, seen from outside the app, holds a value with that fingerprint.
    let stored = secret_tool_lookup(&service, account).expect("the probe is in the Secret Service");
    let digest = hex::encode(&Sha256::digest(stored.as_bytes())[..8]);
    assert_eq!(digest, fingerprint);
    assert!(
        !app.page_source().await.contains(&stored),
        "the secret itself reached the webview"
    );

    app.click("[data-testid=probe-read]").await;
    app.wait_for_attribute("[data-testid=probe-read-result]", "data-outcome", "matches")
        .await;

    app.click("[data-testid=probe-delete]").await;
    app.wait_for_attribute("[data-testid=probe-deleted-result]", "data-gone", "true")
        .await;
    assert_eq!(
        secret_tool_lookup(&service, account),
        None,
        "the probe outlived its delete"
    );
    app.screenshot("keychain-self-test").await;
    app.finish().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_a_deep_link_from_a_second_launch_reaches_the_running_window() {
    let app = AppSession::start("deep-link").await;
    app.click("[data-testid=nav-settings]").await;
    app.wait_for_text(
        "[data-testid=deep-link-counts]",
        "0 received, 0 turned away",
    )
    .await;

    let second = app
        .launch_second_instance("banklinks://callback?code=E2E-SECRET-CODE&state=e2estate42")
        .await;
    assert!(
        second.success(),
        "the second launch did not exit cleanly: {second:?}"
    );
    let shown = app
        .wait_for_text(
            "[data-testid=last-deep-link]",
            "banklinks://callback?code=[redacted]&state=e2es…",
        )
        .await;
    assert!(shown.contains("Bank callback"), "{shown}");

    let second = app
        .launch_second_instance("banklinks://somewhere-else?code=E2E-SECRET-CODE")
        .await;
    assert!(
        second.success(),
        "the second launch did not exit cleanly: {second:?}"
    );
    app.wait_for_text(
        "[data-testid=last-deep-link-rejection]",
        "the link names no known destination",
    )
    .await;
    app.wait_for_text(
        "[data-testid=deep-link-counts]",
        "1 received, 1 turned away",
    )
    .await;

    assert!(
        !app.page_source().await.contains("E2E-SECRET-CODE"),
        "an authorization code reached the webview"
    );
    app.screenshot("deep-link").await;
    app.finish().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_a_deep_link_that_starts_the_app_is_shown_once_the_window_has_loaded() {
    let link = "banklinks://connections/0f7c1e:6b1d2c3e-aaaa-4bbb-8ccc-123456789abc";
    let app = AppSession::start_with_args("cold-start", &[link]).await;
    app.click("[data-testid=nav-settings]").await;
    let shown = app
        .wait_for_text("[data-testid=last-deep-link]", link)
        .await;
    assert!(shown.contains("Open a connection"), "{shown}");
    app.wait_for_text(
        "[data-testid=deep-link-counts]",
        "1 received, 0 turned away",
    )
    .await;
    app.finish().await;
}
