//! End-to-end tests of the real app window: the built binary under Xvfb, driven through
//! tauri-driver + WebKitWebDriver, with the real Secret Service and session bus.
//!
//! They are `#[ignore]`d because they need that environment; `scripts/test` provides it and runs
//! them with `--ignored --test-threads=1` (WebKit allows one automation session at a time).
//! Linux only: WebKitWebDriver, Xvfb and the Secret Service are what they drive.
#![cfg(target_os = "linux")]

#[path = "window/support.rs"]
mod support;

#[path = "window/desktop_bus.rs"]
mod desktop_bus;

use serde_json::json;
use sha2::{Digest, Sha256};
use support::{AppSession, secret_tool_lookup};

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_the_window_opens_into_demo_with_settings_and_diagnostics() {
    let app = AppSession::start("renders").await;
    app.wait_for_text("[data-testid=start-demo]", "").await;
    app.screenshot("first-run").await;

    app.click("[data-testid=nav-settings]").await;
    app.wait_for_text("h1", "Settings").await;
    app.wait_for_text("[data-testid=environment-name]", "Demo")
        .await;
    app.wait_for_text("[data-testid=keychain-status]", "Available")
        .await;
    let location = app.text("[data-testid=data-location]").await;
    assert!(
        location.contains(&app.data_dir().join("app").display().to_string()),
        "{location}"
    );
    app.screenshot("settings").await;
    app.finish().await;
}

/// Adds the bank named `bank` from the chooser and completes it at the bank; returns the new
/// connection's id.
async fn add_connection(app: &AppSession, bank: &str) -> String {
    let known = connection_ids(app).await;
    let before = known.len();
    app.click("[data-testid=add-connection]").await;
    app.fill("[data-testid=bank-search]", bank).await;
    app.click(&format!(
        "[data-testid=bank-option][data-bank-name=\"{bank}\"]"
    ))
    .await;
    app.wait_for_text("[data-testid=waiting-for-bank]", "")
        .await;
    let code = app.complete_at_the_bank().await;
    assert!(!code.is_empty());
    app.wait_for_count("[data-testid=connection-card]", before + 1)
        .await;
    app.wait_for_text("[data-testid=authorization-finished]", "")
        .await;
    assert!(
        !app.page_source().await.contains(&code),
        "the authorization code reached the webview"
    );
    connection_ids(app)
        .await
        .into_iter()
        .find(|id| !known.contains(id))
        .expect("the new connection")
}

async fn connection_ids(app: &AppSession) -> Vec<String> {
    let source = app.page_source().await;
    source
        .split("data-connection-id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

/// Opens a connection's page from its card. The dashboard reloads (and re-sorts) as events
/// arrive, so a click can land while the card moves; a person clicks again, and so does this.
async fn open_connection(app: &AppSession, id: &str) {
    let name = app.text(&card(id, "connection-name")).await;
    for _ in 0..3 {
        app.click(&card(id, "connection-name")).await;
        for _ in 0..30 {
            // Its own page: a click that landed on a card sliding by opens another one.
            if app
                .current_text("[data-testid=detail-title]")
                .await
                .as_deref()
                == Some(&name)
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    app.screenshot("failure").await;
    panic!("the page of {id} did not open after three clicks on its card");
}

fn card(id: &str, inner: &str) -> String {
    format!("[data-testid=connection-card][data-connection-id=\"{id}\"] [data-testid={inner}]")
}

async fn start_empty_demo(app: &AppSession) {
    app.click("[data-testid=start-demo-empty]").await;
    app.wait_for_text("[data-testid=add-connection]", "").await;
    // The Demo clock starts at the wall clock; move it to the next 09:30 UTC, so connections
    // are made far from a UK midnight and "ends in 90 days" reads 90 whatever the hour the
    // suite runs (a consent's days are UK calendar days).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let morning = 9 * 3600 + 30 * 60;
    let wait = (morning + 86_400 - now % 86_400) % 86_400;
    if wait > 0 {
        app.invoke("demo_advance_clock", json!({ "by": format!("{wait}s") }))
            .await
            .expect("move the Demo clock to a morning");
    }
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_add_a_connection_through_the_bank_then_sync_and_see_the_cooldown() {
    let app = AppSession::start("add-and-sync").await;
    start_empty_demo(&app).await;
    let id = add_connection(&app, "Moneyhub Open Banking Mock").await;
    app.wait_for_text(&card(&id, "account-balance"), "£").await;
    app.wait_for_attribute(&card(&id, "connection-fix"), "data-fix", "none")
        .await;
    app.wait_for_text(&card(&id, "sync-availability"), "Sync available now")
        .await;
    assert!(app.is_enabled(&card(&id, "sync-button")).await);
    app.screenshot("dashboard").await;

    app.click(&card(&id, "sync-button")).await;
    // Moneyhub syncs in the background: the card says so until the run has finished, then
    // shows the result.
    app.wait_for_text(&card(&id, "sync-in-progress"), "Moneyhub is syncing")
        .await;
    app.wait_for_text(&card(&id, "connection-status"), "Syncing")
        .await;
    assert!(app.is_in_view(&card(&id, "sync-in-progress")).await);
    app.wait_for_text(&card(&id, "sync-availability"), "Sync available in")
        .await;
    assert!(
        !app.is_enabled(&card(&id, "sync-button")).await,
        "the sync button stays enabled during the cooldown"
    );
    app.screenshot("syncing").await;
    app.wait_for_text("[data-testid=action-notice]", "Synced:")
        .await;
    app.wait_for_count(&card(&id, "sync-in-progress"), 0).await;
    app.wait_for_text(&card(&id, "connection-status"), "Up to date")
        .await;
    app.screenshot("sync-cooldown").await;
    // Moneyhub's own record of the sync, on the connection's page.
    open_connection(&app, &id).await;
    app.wait_for_text("[data-testid=sync-run]", "Asked for · Synced")
        .await;
    // Moneyhub's regular payments for each account, in words, money in first.
    let salary = "[data-testid=regular-payment][data-kind=income]";
    let text = app.wait_for_text(salary, "Every month").await;
    assert!(text.contains("Next expected"), "{text}");
    assert!(text.contains('£') && !text.contains('-'), "{text}");
    let payment = app
        .wait_for_text("[data-testid=regular-payment][data-kind=payment]", "-£")
        .await;
    assert!(payment.contains("Every month"), "{payment}");
    app.scroll_to("[data-testid=regular-payments]").await;
    app.screenshot("regular-payments").await;
    app.finish().await;
}

/// A connection deleted outside Banklinks: the card says so in words (and offers nothing that
/// would fail), the fix removes this device's copy, and the journal keeps both.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_a_connection_deleted_at_moneyhub_is_marked_and_its_fix_removes_it() {
    let app = AppSession::start("removed-at-moneyhub").await;
    start_empty_demo(&app).await;
    let id = add_connection(&app, "Moneyhub Open Banking Mock").await;
    app.wait_for_text(&card(&id, "account-balance"), "£").await;

    app.click("[data-testid=nav-demo]").await;
    app.select("[data-testid=demo-break-connection]", &id).await;
    app.select("[data-testid=demo-break-how]", "removedAtMoneyhub")
        .await;
    app.click("[data-testid=demo-break-apply]").await;
    app.wait_for_text("[data-testid=demo-result]", "").await;
    app.click("[data-testid=nav-dashboard]").await;

    app.wait_for_text(&card(&id, "connection-status"), "Removed at Moneyhub")
        .await;
    app.wait_for_attribute(&card(&id, "connection-fix"), "data-fix", "remove")
        .await;
    let reason = app.text(&card(&id, "connection-fix-reason")).await;
    assert!(reason.contains("deleted outside Banklinks"), "{reason}");
    assert!(
        reason.contains("stopped listing this connection on"),
        "the day it went: {reason}"
    );
    assert_eq!(app.count(&card(&id, "consent-countdown")).await, 0);
    assert_eq!(app.count(&card(&id, "history-arriving")).await, 0);
    let frozen = app.text(&card(&id, "account-staleness")).await;
    assert!(frozen.ends_with(" — removed at Moneyhub"), "{frozen:?}");
    assert!(!app.is_enabled(&card(&id, "sync-button")).await);
    let availability = app.text(&card(&id, "sync-availability")).await;
    assert!(availability.contains("no longer has"), "{availability}");
    assert!(app.is_in_view(&card(&id, "connection-fix")).await);
    app.screenshot("removed-at-moneyhub").await;

    app.click(&card(&id, "connection-fix")).await;
    app.click("[data-testid=action-remove]").await;
    // The dialog and the receipt after it say the same: nothing is left to revoke.
    let summary = app.text("[data-testid=remove-summary]").await;
    assert!(
        summary.starts_with("Moneyhub no longer has") && !summary.contains("revokes"),
        "{summary}"
    );
    app.click("[data-testid=confirm-remove]").await;
    let receipt = app
        .wait_for_text("[data-testid=removal-receipt]", "no consent to revoke")
        .await;
    assert!(receipt.contains("deleted from this device"), "{receipt}");
    app.wait_for_count("[data-testid=connection-card]", 0).await;
    app.click("[data-testid=nav-journal]").await;
    app.wait_for_text(
        "[data-testid=journal-entry][data-event=removed_at_moneyhub]",
        "Removed at Moneyhub",
    )
    .await;
    app.finish().await;
}

/// Moves the Demo clock with the presenter's button and waits until the panel shows it moved.
async fn advance_demo_clock(app: &AppSession, by: &str) {
    app.click("[data-testid=nav-demo]").await;
    let clock_before = app.text("[data-testid=demo-clock]").await;
    app.click(&format!("[data-testid=demo-advance-{by}]")).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.text("[data-testid=demo-clock]").await == clock_before {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock did not move"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.click("[data-testid=nav-dashboard]").await;
}

/// The card says what the core decided: during a cooldown it offers to wait, the queued sync
/// survives a restart and runs once the Demo clock passes the wait; after the consent ends no
/// "available now" sits beside a disabled sync, and nothing offers to wait for it.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_the_card_says_what_the_core_decided_a_queued_sync_survives_a_restart_and_runs() {
    let app = AppSession::start("core-decides").await;
    start_empty_demo(&app).await;
    let id = add_connection(&app, "Moneyhub Open Banking Mock").await;
    app.wait_for_text(&card(&id, "sync-availability"), "Sync available now")
        .await;
    app.click(&card(&id, "sync-button")).await;
    app.wait_for_text(&card(&id, "sync-availability"), "Sync available in")
        .await;
    assert!(!app.is_enabled(&card(&id, "sync-button")).await);
    app.wait_for_text(&card(&id, "sync-when-allowed"), "Sync as soon as allowed")
        .await;
    assert!(
        app.is_in_view(&card(&id, "sync-when-allowed")).await,
        "the offer to wait is on screen"
    );
    app.click(&card(&id, "sync-when-allowed")).await;
    app.wait_for_text(&card(&id, "sync-queued"), "Queued for")
        .await;
    app.screenshot("sync-queued").await;

    let app = app.restart().await;
    app.wait_for_text(&card(&id, "sync-queued"), "Queued for")
        .await;
    assert!(
        app.is_in_view(&card(&id, "sync-queued")).await,
        "the queued sync is on screen after a restart"
    );

    advance_demo_clock(&app, "1h").await;
    app.wait_for_count(&card(&id, "sync-queued"), 0).await;
    app.wait_for_text(&card(&id, "last-updated"), "Updated just now")
        .await;
    app.wait_for_text(&card(&id, "sync-availability"), "Sync available in")
        .await;
    app.click("[data-testid=nav-journal]").await;
    app.wait_for_count("[data-testid=journal-entry][data-event=sync_requested]", 2)
        .await;
    app.wait_for_count("[data-testid=journal-entry][data-event=sync_queued]", 1)
        .await;

    advance_demo_clock(&app, "90d").await;
    app.wait_for_attribute(&card(&id, "connection-fix"), "data-fix", "reconsent")
        .await;
    let availability = app
        .wait_for_text(&card(&id, "sync-availability"), "consent has ended")
        .await;
    assert!(
        !availability.contains("available now"),
        "an expired card says a sync is available: {availability}"
    );
    assert!(!app.is_enabled(&card(&id, "sync-button")).await);
    assert_eq!(app.count(&card(&id, "sync-when-allowed")).await, 0);
    assert!(app.is_in_view(&card(&id, "sync-availability")).await);
    app.screenshot("expired-no-sync").await;
    app.finish().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_a_reauth_that_changes_the_connection_id_keeps_one_copy_of_everything() {
    let app = AppSession::start("reauth-new-id").await;
    start_empty_demo(&app).await;
    let old = add_connection(&app, "Sandbox Bank (new id on reauth)").await;
    app.wait_for_text(&card(&old, "account-balance"), "").await;
    let accounts = app.count("[data-testid=account-row]").await;
    assert!(accounts > 0);

    open_connection(&app, &old).await;
    app.wait_for_text("[data-testid=detail-title]", "new id on reauth")
        .await;
    app.wait_for_text(
        "[data-testid=reauth-note]",
        "history, transactions and journal",
    )
    .await;
    app.click("[data-testid=action-reauth]").await;
    app.complete_at_the_bank().await;
    app.wait_for_text("[data-testid=id-changed-note]", "").await;
    app.click("[data-testid=nav-dashboard]").await;
    app.wait_for_count("[data-testid=connection-card]", 1).await;
    let ids = connection_ids(&app).await;
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_ne!(ids[0], old, "the bank gave the connection a new id");
    app.wait_for_count("[data-testid=account-row]", accounts)
        .await;
    app.screenshot("reauth-new-id").await;

    app.click("[data-testid=nav-journal]").await;
    app.wait_for_text(
        "[data-testid=journal-entry][data-event=reauth_completed]",
        "",
    )
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_a_legacy_connection_needing_mfa_is_fixed_by_refresh() {
    let app = AppSession::start("legacy-refresh").await;
    start_empty_demo(&app).await;
    let id = add_connection(&app, "Hargreaves Lansdown").await;

    app.click("[data-testid=nav-demo]").await;
    app.select("[data-testid=demo-break-connection]", &id).await;
    app.select("[data-testid=demo-break-how]", "mfaRequired")
        .await;
    app.click("[data-testid=demo-break-apply]").await;
    app.wait_for_text("[data-testid=demo-result]", "").await;

    app.click("[data-testid=nav-dashboard]").await;
    app.wait_for_attribute(&card(&id, "connection-fix"), "data-fix", "refresh")
        .await;
    app.screenshot("legacy-mfa").await;
    app.click(&card(&id, "connection-fix")).await;
    app.complete_at_the_bank().await;
    app.wait_for_text("[data-testid=authorization-finished]", "")
        .await;
    app.wait_for_attribute(&card(&id, "connection-fix"), "data-fix", "none")
        .await;

    // Refresh is never offered for an open-banking connection, and says why.
    let ob = add_connection(&app, "Moneyhub Open Banking Mock").await;
    open_connection(&app, &ob).await;
    app.wait_for_text("[data-testid=action-refresh-reason]", "screen-scraping")
        .await;
    assert!(!app.is_enabled("[data-testid=action-refresh]").await);
    app.finish().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_ninety_days_later_the_consent_has_expired_and_reconsent_fixes_it() {
    let app = AppSession::start("expiry").await;
    start_empty_demo(&app).await;
    let id = add_connection(&app, "Moneyhub Open Banking Mock").await;

    app.click("[data-testid=nav-demo]").await;
    let clock_before = app.text("[data-testid=demo-clock]").await;
    app.click("[data-testid=demo-advance-90d]").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.text("[data-testid=demo-clock]").await == clock_before {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock did not move"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.screenshot("demo-panel").await;

    app.click("[data-testid=nav-dashboard]").await;
    app.wait_for_attribute(&card(&id, "connection-fix"), "data-fix", "reconsent")
        .await;
    let reason = app.text(&card(&id, "connection-fix-reason")).await;
    assert!(!reason.is_empty());
    app.screenshot("connection-in-trouble").await;

    // Moneyhub will not sync an expired connection: no estimate of a next sync.
    open_connection(&app, &id).await;
    let next = app
        .wait_for_text("[data-testid=next-automatic-sync]", "None")
        .await;
    assert!(!next.contains("Usually"), "{next}");
    app.click("[data-testid=nav-dashboard]").await;

    app.click(&card(&id, "connection-fix")).await;
    app.complete_at_the_bank().await;
    app.wait_for_attribute(&card(&id, "connection-fix"), "data-fix", "none")
        .await;
    let countdown = app
        .wait_for_text(&card(&id, "consent-countdown"), "Consent ends in")
        .await;
    assert!(
        countdown.contains("90 days"),
        "a renewed consent reads 90 days: {countdown}"
    );
    app.finish().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_offline_shows_cached_data_then_removal_leaves_a_receipt() {
    let app = AppSession::start("offline-remove").await;
    app.click("[data-testid=start-demo]").await;
    app.wait_for_text("[data-testid=dashboard-summary]", "")
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.count("[data-testid=connection-card]").await < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the persona's connections never showed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let cards = app.count("[data-testid=connection-card]").await;

    app.click("[data-testid=nav-demo]").await;
    app.click("[data-testid=demo-offline-toggle]").await;
    app.wait_for_text("[data-testid=demo-offline-toggle]", "back")
        .await;
    app.click("[data-testid=nav-dashboard]").await;
    app.click("[data-testid=refresh-button]").await;
    app.wait_for_text("[data-testid=offline-banner]", "").await;
    assert_eq!(app.count("[data-testid=connection-card]").await, cards);
    app.screenshot("offline").await;

    app.click("[data-testid=nav-demo]").await;
    app.click("[data-testid=demo-offline-toggle]").await;
    app.wait_for_text("[data-testid=demo-offline-toggle]", "offline")
        .await;
    app.click("[data-testid=nav-dashboard]").await;
    app.click("[data-testid=refresh-button]").await;
    app.wait_for_count("[data-testid=offline-banner]", 0).await;

    let id = connection_ids(&app).await[0].clone();
    open_connection(&app, &id).await;
    app.click("[data-testid=action-remove]").await;
    let summary = app.text("[data-testid=remove-summary]").await;
    assert!(summary.contains("account"), "{summary}");
    app.click("[data-testid=confirm-remove]").await;
    app.wait_for_text("[data-testid=removal-receipt]", "Removed")
        .await;
    app.wait_for_count("[data-testid=connection-card]", cards - 1)
        .await;
    app.click("[data-testid=nav-journal]").await;
    app.wait_for_text("[data-testid=journal-entry][data-event=removed]", "")
        .await;
    app.screenshot("journal").await;
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

/// A compromised webview calls commands with hostile ids, and other apps deliver a forged and
/// a replayed bank redirect: none changes anything, each is answered with its error code, and
/// the card stays as it was, in view.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_a_compromised_webview_and_forged_or_replayed_links_change_nothing() {
    let app = AppSession::start("hostile").await;
    start_empty_demo(&app).await;
    app.click("[data-testid=add-connection]").await;
    app.fill("[data-testid=bank-search]", "Moneyhub Open Banking Mock")
        .await;
    app.click("[data-testid=bank-option][data-bank-name=\"Moneyhub Open Banking Mock\"]")
        .await;
    app.wait_for_text("[data-testid=waiting-for-bank]", "")
        .await;
    let link = app.walk_the_bank().await;
    assert!(app.launch_second_instance(&link).await.success());
    app.wait_for_count("[data-testid=connection-card]", 1).await;
    app.wait_for_text("[data-testid=authorization-finished]", "")
        .await;
    let id = connection_ids(&app).await.remove(0);
    app.wait_for_text(&card(&id, "connection-status"), "Up to date")
        .await;

    // The same redirect again (a double click on the bank's last button): known for the one
    // just received, so the person is shown no error for it, and nothing changes.
    assert!(app.launch_second_instance(&link).await.success());
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(app.count("[data-testid=authorization-error]").await, 0);
    assert_eq!(app.count("[data-testid=connection-card]").await, 1);

    // One with a made-up state, twice (the second after the first's notice is dismissed).
    for (label, hostile) in [
        (
            "forged",
            "banklinks://callback?code=FORGED-CODE-1234&state=forged-state-0123456789".to_string(),
        ),
        (
            "forged again",
            "banklinks://callback?code=FORGED-CODE-5678&state=forged-state-9876543210".to_string(),
        ),
    ] {
        assert!(
            app.launch_second_instance(&hostile).await.success(),
            "{label}"
        );
        app.wait_for_attribute(
            "[data-testid=authorization-error]",
            "data-code",
            "no_such_authorization",
        )
        .await;
        app.wait_for_text(
            "[data-testid=authorization-error]",
            "we were no longer waiting",
        )
        .await;
        app.click("[data-testid=authorization-error] button").await;
        app.wait_for_count("[data-testid=authorization-error]", 0)
            .await;
    }

    // Commands straight from the page, with ids that point elsewhere.
    let traversal = format!("../../someone-else/connection/{id}");
    let attacks = [
        (
            "remove_connection",
            json!({ "connectionId": traversal }),
            "not_found",
        ),
        (
            "remove_connection",
            json!({ "connectionId": "1ffe:not-mine" }),
            "not_found",
        ),
        (
            "sync_now",
            json!({ "connectionId": traversal }),
            "not_found",
        ),
        (
            "connection_sync_history",
            json!({ "connectionId": traversal }),
            "not_found",
        ),
        (
            "demo_break_connection",
            json!({ "connectionId": traversal, "how": "removedAtMoneyhub" }),
            "not_found",
        ),
        (
            "begin_authorization",
            json!({ "request": { "kind": "addConnection", "bankId": "1ffe704d39629a929c8e293880fb449a user:delete" } }),
            "not_allowed",
        ),
        (
            "begin_authorization",
            json!({ "request": { "kind": "reauth", "connectionId": traversal } }),
            "not_found",
        ),
        (
            "create_profile",
            json!({ "name": "Sneaky", "existingUserId": "../users" }),
            "not_allowed",
        ),
        // The file manager opens only at a file this run exported.
        (
            "show_export",
            json!({ "path": "/etc/passwd" }),
            "not_allowed",
        ),
    ];
    for (command, args, expected) in attacks {
        let answer = app.invoke(command, args.clone()).await;
        let code = answer
            .as_ref()
            .err()
            .and_then(|err| err.get("code"))
            .and_then(|code| code.as_str())
            .unwrap_or_default()
            .to_string();
        assert_eq!(code, expected, "{command} {args}: {answer:?}");
    }
    assert_eq!(
        app.invoke(
            "cancel_authorization",
            json!({ "stateId": "someone-elses-state" })
        )
        .await,
        Ok(json!(false))
    );

    // Nothing changed: one bank page was opened, the card is there, in view, saying the same.
    assert_eq!(
        app.opened_url_count(),
        1,
        "a hostile call opened a bank page"
    );
    app.wait_for_count("[data-testid=connection-card]", 1).await;
    app.wait_for_text(&card(&id, "connection-status"), "Up to date")
        .await;
    assert!(app.is_in_view(&card(&id, "connection-status")).await);
    assert!(!app.page_source().await.contains("FORGED-CODE-1234"));
    app.screenshot("hostile").await;
    app.finish().await;
}

const RIGHT: char = '\u{E014}';
const ESCAPE: char = '\u{E00C}';

/// Checks a tour scene: its counter and title, and the card it is about highlighted and in view.
async fn at_scene(app: &AppSession, number: usize, title: &str) {
    app.wait_for_text("[data-testid=tour-counter]", &format!("{number} of 9"))
        .await;
    app.wait_for_text("[data-testid=tour-title]", title).await;
    // Set up once the button no longer says "Setting up…".
    let ready = if number == 9 { "Finish" } else { "Next" };
    app.wait_for_text("[data-testid=tour-next]", ready).await;
}

const HIGHLIGHTED: &str = "[data-testid=connection-card][data-highlighted=true]";

/// The presenter's tour, scene by scene with the keyboard, in the real window at a laptop's
/// size and at a small one: each scene sets itself up, the presenter does what the caption says,
/// and at every scene the card concerned is in view (above the caption bar), no notice from an
/// earlier scene is left, nothing sticks out or scrolls the page, and the card does not
/// contradict itself.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_the_presenters_tour_at_1280_by_800() {
    walk_the_tour("tour-1280x800", 1280, 800).await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_the_presenters_tour_at_900_by_600() {
    walk_the_tour("tour-900x600", 900, 600).await;
}

/// Notices that belong to a moment; none may outlive its scene.
const NOTICES: &[&str] = &[
    "authorization-finished",
    "action-notice",
    "removal-receipt",
    "authorization-error",
    "authorization-timeout",
    "offline-banner",
];

/// What every scene must satisfy, once it is set up (and again after the presenter's action).
async fn scene_is_clean(app: &AppSession, scene: &str, allowed_notices: &[&str]) {
    for notice in NOTICES {
        if !allowed_notices.contains(notice) {
            let css = format!("[data-testid={notice}]");
            assert_eq!(
                app.count(&css).await,
                0,
                "{scene}: a {notice} is left from before: {}",
                app.text(&css).await
            );
        }
    }
    let problems = app.layout_problems().await;
    if !problems.is_empty() {
        app.screenshot(&format!("{scene}-layout")).await;
    }
    assert!(problems.is_empty(), "{scene}: {problems:#?}");
}

/// The card's words agree with each other and with its buttons.
async fn card_agrees_with_itself(app: &AppSession, card_css: &str) {
    let inner = |testid: &str| format!("{card_css} [data-testid={testid}]");
    let availability = app.text(&inner("sync-availability")).await;
    let can_sync = app.is_enabled(&inner("sync-button")).await;
    assert_eq!(
        availability.contains("available now"),
        can_sync,
        "the card says {availability:?} and its Sync button is {}",
        if can_sync { "enabled" } else { "disabled" }
    );
    let status = app.text(&inner("connection-status")).await;
    if app.count(&inner("consent-countdown")).await > 0 {
        let countdown = app.text(&inner("consent-countdown")).await;
        if let Some(days) = status
            .split("Consent ends in ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
        {
            assert!(
                countdown.contains(&format!("in {days} days")),
                "{status:?} beside {countdown:?}"
            );
        }
        if status.contains("expired") || status.contains("ended") {
            assert!(
                countdown.contains("ended"),
                "{status:?} beside {countdown:?}"
            );
        }
        if countdown.contains("ended") {
            assert!(
                !status.contains("ends in"),
                "{status:?} beside {countdown:?}"
            );
        }
    }
}

async fn walk_the_tour(name: &'static str, width: u32, height: u32) {
    let app = AppSession::start(name).await;
    app.set_window_size(width, height).await;
    app.click("[data-testid=nav-demo]").await;
    app.wait_for_text("[data-testid=tour-start]", "Present")
        .await;
    scene_is_clean(&app, "the demo controls", &[]).await;
    app.screenshot("demo-controls").await;
    app.click("[data-testid=tour-start]").await;

    at_scene(&app, 1, "Connect a bank").await;
    scene_is_clean(&app, "scene 1", &[]).await;
    app.fill("[data-testid=bank-search]", "Monzo").await;
    let monzo = "[data-testid=bank-option][data-bank-name=\"Monzo\"]";
    // The bank's icon, fetched once with the list and shown from this device's copy.
    app.wait_for_count(&format!("{monzo} [data-testid=bank-icon]"), 1)
        .await;
    app.scroll_to(monzo).await;
    app.click(monzo).await;
    app.complete_at_the_bank().await;
    app.wait_for_count("[data-testid=connection-card]", 1).await;
    let id = connection_ids(&app).await.remove(0);
    app.wait_for_text(&card(&id, "authorization-finished"), "Connected.")
        .await;
    app.wait_in_view(&card(&id, "authorization-finished")).await;
    app.wait_for_count(&card(&id, "bank-icon"), 1).await;

    app.press(RIGHT).await;
    at_scene(&app, 2, "History arrives in the background").await;
    app.wait_for_attribute(HIGHLIGHTED, "data-connection-id", &id)
        .await;
    app.wait_in_view(&card(&id, "history-arriving")).await;
    scene_is_clean(&app, "scene 2", &[]).await;
    card_agrees_with_itself(&app, HIGHLIGHTED).await;
    app.screenshot("2-history").await;

    app.press(RIGHT).await;
    at_scene(&app, 3, "Fresh data, within the bank’s limits").await;
    scene_is_clean(&app, "scene 3", &[]).await;
    app.click(&card(&id, "sync-button")).await;
    app.wait_for_text(&card(&id, "sync-availability"), "Sync available in")
        .await;
    card_agrees_with_itself(&app, HIGHLIGHTED).await;
    // The sync runs at Moneyhub; its result arrives on the card, which comes into view.
    app.wait_for_text(&card(&id, "action-notice"), "Synced:")
        .await;
    app.wait_in_view(&card(&id, "action-notice")).await;
    app.screenshot("3-synced").await;

    app.press(RIGHT).await;
    at_scene(&app, 4, "Consent runs for 90 days").await;
    app.wait_for_text(&card(&id, "connection-status"), "Consent ends in 3 days")
        .await;
    app.wait_in_view(&card(&id, "connection-fix")).await;
    scene_is_clean(&app, "scene 4", &[]).await;
    card_agrees_with_itself(&app, HIGHLIGHTED).await;
    app.screenshot("4-consent-due").await;
    app.click(&card(&id, "connection-fix")).await;
    app.complete_at_the_bank().await;
    app.wait_for_text(&card(&id, "authorization-finished"), "Consent renewed.")
        .await;
    // What changed, in words, on the card.
    app.wait_for_text(&card(&id, "what-changed"), "Consent now runs until")
        .await;
    // A consent given today runs 90 whole days.
    app.wait_for_text(&card(&id, "consent-countdown"), "Consent ends in 90 days")
        .await;
    card_agrees_with_itself(&app, HIGHLIGHTED).await;
    app.wait_in_view(&card(&id, "authorization-finished")).await;

    app.press(RIGHT).await;
    at_scene(&app, 5, "Logging in again, under a new name").await;
    app.wait_for_text(
        &format!("{HIGHLIGHTED} [data-testid=connection-name]"),
        "Sandbox Bank (new id on reauth)",
    )
    .await;
    app.wait_for_text(
        &format!("{HIGHLIGHTED} [data-testid=connection-status]"),
        "Bank login needed",
    )
    .await;
    app.wait_in_view(&format!("{HIGHLIGHTED} [data-testid=connection-fix]"))
        .await;
    scene_is_clean(&app, "scene 5", &[]).await;
    card_agrees_with_itself(&app, HIGHLIGHTED).await;
    app.click(&format!("{HIGHLIGHTED} [data-testid=connection-fix]"))
        .await;
    app.complete_at_the_bank().await;
    // The card now has its new id; the news is on it, in view.
    app.wait_for_text("[data-testid=id-changed-note]", "new identity")
        .await;
    app.wait_in_view("[data-testid=id-changed-note]").await;
    app.screenshot("5-new-id").await;

    app.press(RIGHT).await;
    at_scene(&app, 6, "The bank asks a security question").await;
    app.wait_for_text(
        &format!("{HIGHLIGHTED} [data-testid=connection-name]"),
        "Hargreaves Lansdown",
    )
    .await;
    app.wait_for_text(
        &format!("{HIGHLIGHTED} [data-testid=connection-fix]"),
        "Answer your bank’s security question",
    )
    .await;
    app.wait_in_view(&format!("{HIGHLIGHTED} [data-testid=connection-fix]"))
        .await;
    scene_is_clean(&app, "scene 6", &[]).await;
    card_agrees_with_itself(&app, HIGHLIGHTED).await;
    app.screenshot("6-security-question").await;
    app.click(&format!("{HIGHLIGHTED} [data-testid=connection-fix]"))
        .await;
    app.complete_at_the_bank().await;
    app.wait_for_text(
        &format!("{HIGHLIGHTED} [data-testid=authorization-finished]"),
        "Refreshed at the bank.",
    )
    .await;

    app.press(RIGHT).await;
    at_scene(&app, 7, "When Moneyhub cannot be reached").await;
    app.wait_for_text("[data-testid=topbar-offline]", "Bank server offline")
        .await;
    app.wait_for_text("[data-testid=offline-banner]", "Can’t reach Moneyhub")
        .await;
    // The scene is about the notice at the top: it is in view. No card offers a sync that
    // cannot happen.
    app.wait_in_view("[data-testid=offline-banner]").await;
    card_agrees_with_itself(&app, "[data-testid=connection-card]").await;
    app.wait_for_text(
        "[data-testid=connection-card] [data-testid=sync-availability]",
        "Sync needs Moneyhub",
    )
    .await;
    scene_is_clean(&app, "scene 7", &["offline-banner"]).await;
    app.screenshot("7-offline").await;

    app.press(RIGHT).await;
    at_scene(&app, 8, "Removing a connection").await;
    app.wait_for_count("[data-testid=topbar-offline]", 0).await;
    // Back online, "can't reach" goes without anyone asking.
    app.wait_for_count("[data-testid=offline-banner]", 0).await;
    app.wait_for_text(
        &format!("{HIGHLIGHTED} [data-testid=connection-name]"),
        "Danske Bank",
    )
    .await;
    app.wait_in_view(&format!("{HIGHLIGHTED} [data-testid=connection-name]"))
        .await;
    scene_is_clean(&app, "scene 8", &[]).await;
    card_agrees_with_itself(&app, HIGHLIGHTED).await;
    app.click(&format!("{HIGHLIGHTED} [data-testid=connection-name]"))
        .await;
    app.click("[data-testid=action-remove]").await;
    app.click("[data-testid=confirm-remove]").await;
    app.wait_for_text("[data-testid=removal-receipt]", "Removed Danske Bank")
        .await;
    app.wait_in_view("[data-testid=removal-receipt]").await;
    scene_is_clean(&app, "scene 8, removed", &["removal-receipt"]).await;
    app.screenshot("8-removed").await;

    app.press(RIGHT).await;
    at_scene(&app, 9, "Everything written down").await;
    app.wait_for_text("h1", "Journal").await;
    scene_is_clean(&app, "scene 9", &[]).await;
    assert_eq!(app.count("[data-testid=tour-problem]").await, 0);
    // Every entry names its bank, the removed one's too.
    let entries = app.count("[data-testid=journal-entry]").await;
    assert!(entries > 0);
    assert_eq!(
        app.count("[data-testid=journal-entry] [data-testid=journal-bank]")
            .await,
        entries,
        "an entry without its bank"
    );
    app.wait_for_text(
        "[data-testid=journal-entry][data-event=removed] [data-testid=journal-bank]",
        "Danske Bank",
    )
    .await;
    app.screenshot("9-journal").await;

    // An export offers its folder rather than only a long path.
    app.click("[data-testid=export-journal-csv]").await;
    app.wait_for_text("[data-testid=export-result]", "Saved banklinks-journal-")
        .await;
    app.click("[data-testid=show-export]").await;
    let shown = app.next_opened_url().await;
    assert!(
        shown.starts_with("show:") && shown.ends_with(".csv"),
        "{shown}"
    );
    assert!(
        std::path::Path::new(shown.trim_start_matches("show:")).is_file(),
        "{shown}"
    );

    // Esc leaves; the Demo controls offer to resume where the presenter was.
    app.press(ESCAPE).await;
    app.wait_for_count("[data-testid=tour]", 0).await;
    app.click("[data-testid=nav-demo]").await;
    app.wait_for_text("[data-testid=tour-resume]", "Resume at scene 9 of 9")
        .await;
    app.finish().await;
}

/// Two consents ending: "Renew all (2)" walks both banks in turn, opening the next bank's page
/// by itself, and says how far it has got.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_renew_all_walks_the_due_consents_one_bank_at_a_time() {
    let app = AppSession::start("renew-all").await;
    start_empty_demo(&app).await;
    let first = add_connection(&app, "Moneyhub Open Banking Mock").await;
    let second = add_connection(&app, "Moneyhub Open Banking Mock").await;
    for id in [&first, &second] {
        app.invoke(
            "demo_break_connection",
            json!({ "connectionId": id, "how": "consentEndingSoon" }),
        )
        .await
        .expect("consent ending soon");
    }
    app.wait_for_text(
        &card(&second, "connection-status"),
        "Consent ends in 3 days",
    )
    .await;
    app.wait_for_text("[data-testid=renew-start]", "Renew all (2)")
        .await;
    // Above the cards, where the person scrolls back to.
    app.scroll_to("[data-testid=renew-start]").await;
    app.screenshot("offered").await;

    app.click("[data-testid=renew-start]").await;
    app.wait_for_text("[data-testid=renew-progress]", "0 of 2 renewed")
        .await;
    app.complete_at_the_bank().await;
    // The next bank's page opens by itself.
    app.wait_for_text("[data-testid=renew-progress]", "1 of 2 renewed")
        .await;
    app.wait_for_text("[data-testid=renew-current]", "page now")
        .await;
    app.complete_at_the_bank().await;
    app.wait_for_text("[data-testid=renew-progress]", "2 of 2 renewed")
        .await;
    for id in [&first, &second] {
        app.wait_for_text(&card(id, "consent-countdown"), "Consent ends in 90 days")
            .await;
    }
    app.screenshot("done").await;
    app.click("[data-testid=renew-dismiss]").await;
    app.wait_for_count("[data-testid=renew-all]", 0).await;
    app.finish().await;
}

/// Whether a process of the app's binary is running (from `/proc`, which every Linux has).
fn app_process_running() -> bool {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_banklinks"));
    std::fs::read_dir("/proc").is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            std::fs::read_link(entry.path().join("exe")).is_ok_and(|exe| exe == binary)
        })
    })
}

async fn wait_until_async(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The resident app, with a panel and a notification server on the session bus: the tray
/// item registers and its menu tells the truth, closing the window leaves the app running,
/// a consent reminder arrives as a desktop notification while the window is closed, the
/// tray's Open brings the window back on that connection, Start at login writes the desktop's
/// autostart entry, and with "keep running in the tray" off, closing quits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_closing_the_window_keeps_watch_from_the_tray() {
    use desktop_bus::{Desktop, x11};

    let desktop = Desktop::start().await;
    let home = tempfile::tempdir().expect("a home folder");
    let app = AppSession::start_with_home("tray", home.path()).await;
    start_empty_demo(&app).await;
    let id = add_connection(&app, "Moneyhub Open Banking Mock").await;
    app.wait_for_attribute(&card(&id, "connection-fix"), "data-fix", "none")
        .await;

    // The panel's view: all is well, so the icon has no label and the summary row is text.
    let status = desktop.wait_for_menu_row("All connections are fine").await;
    assert!(!status.enabled, "the summary is not a button");
    desktop.wait_for_menu_row("Open Banklinks").await;
    desktop.wait_for_menu_row("Quit Banklinks").await;
    assert_eq!(desktop.tray_label().await, "", "a healthy tray is quiet");

    // Sync all from the tray: the card shows Moneyhub syncing.
    desktop.click_menu_row("Sync the 1 that is allowed").await;
    app.wait_for_text(&card(&id, "sync-in-progress"), "Moneyhub is syncing")
        .await;
    app.wait_for_count(&card(&id, "sync-in-progress"), 0).await;

    // A broken connection shows at once, beside the icon and atop the menu.
    app.invoke(
        "demo_break_connection",
        json!({ "connectionId": id, "how": "credentialsError" }),
    )
    .await
    .expect("break");
    desktop.wait_for_menu_row("1 needs you").await;
    assert_eq!(desktop.tray_label().await, "1 needs you");
    let drawing = desktop.draw_tray().await;
    assert!(drawing.contains("Open Banklinks"), "{drawing}");
    support::save_artifact("tray.svg", &drawing);
    app.invoke(
        "demo_break_connection",
        json!({ "connectionId": id, "how": "heal" }),
    )
    .await
    .expect("heal");
    desktop.wait_for_menu_row("All connections are fine").await;

    // Close the window as a window manager's close button does.
    let display = x11::Display::open();
    let window = display
        .windows_titled("Banklinks")
        .into_iter()
        .find(|window| display.is_viewable(*window))
        .expect("the app's window on screen");
    display.ask_to_close(window);
    wait_until_async("the window to go", || !display.is_viewable(window)).await;
    let told = desktop
        .wait_for_notification("keeps watch in the tray")
        .await;
    assert!(told.body.contains("quit"), "{told:?}");
    assert!(app_process_running(), "closing the window ended the app");
    app.invoke("app_overview", json!({}))
        .await
        .expect("the app still answers with its window closed");

    // Eighty days pass in the Demo: the consent's reminder reaches the desktop, and says how
    // to get to the connection, with the window still closed.
    app.invoke("demo_advance_clock", json!({ "by": "80d" }))
        .await
        .expect("move the clock");
    let reminder = desktop.wait_for_notification("consent ends soon").await;
    assert!(
        reminder.summary.starts_with("Moneyhub Open Banking Mock"),
        "{reminder:?}"
    );
    assert!(
        reminder.body.starts_with("Consent ends in "),
        "{reminder:?}"
    );
    assert!(
        reminder.body.contains("Open Banklinks on its tray icon"),
        "{reminder:?}"
    );
    assert!(!display.is_viewable(window), "a reminder opened the window");
    // A link another program sends that Banklinks does not act on is turned away without
    // bringing the window out of the tray (a web page could otherwise pop it at will).
    assert!(
        app.launch_second_instance("banklinks://somewhere-else?code=X")
            .await
            .success()
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        !display.is_viewable(window),
        "a rejected link opened the window"
    );

    // The tray's Open brings the window back, on the connection the reminder was about.
    desktop.click_menu_row("Open Banklinks").await;
    wait_until_async("the window to come back", || display.is_viewable(window)).await;
    app.wait_for_text("[data-testid=detail-title]", "Moneyhub Open Banking Mock")
        .await;
    app.wait_in_view("[data-testid=consent-countdown]").await;
    app.wait_for_text("[data-testid=consent-countdown]", "Consent ends in ")
        .await;
    // The page and the notice say the same (the core words both), whatever the day it is.
    let countdown = app.text("[data-testid=consent-countdown]").await;
    let line = countdown.split(" (").next().unwrap_or_default().trim();
    assert!(
        reminder.body.starts_with(&format!("{line}.")),
        "the page says {countdown:?}, the notice {:?}",
        reminder.body
    );
    app.screenshot("back-from-the-tray").await;

    // Start at login writes the desktop's autostart entry, which starts it in the tray.
    app.click("[data-testid=nav-settings]").await;
    let entry = home.path().join(".config/autostart/Banklinks.desktop");
    assert!(!entry.exists(), "off until asked");
    app.click("[data-testid=start-at-login-toggle]").await;
    wait_until_async("the autostart entry", || entry.exists()).await;
    let desktop_entry = std::fs::read_to_string(&entry).expect("read the entry");
    assert!(
        desktop_entry.contains(env!("CARGO_BIN_EXE_banklinks"))
            && desktop_entry.contains("--in-background"),
        "{desktop_entry}"
    );
    app.screenshot("settings-tray").await;
    app.wait_for_text("[data-testid=deep-link-counts]", "1 turned away")
        .await;
    // Settings says what goes to the bank as the customer's address: what the person entered.
    app.fill("[data-testid=customer-ip]", "81.2.69.160").await;
    app.click("[data-testid=customer-ip-save]").await;
    app.wait_for_text(
        "[data-testid=customer-ip-note]",
        "Sent with syncs you ask for: 81.2.69.160, the address you entered.",
    )
    .await;
    app.click("[data-testid=start-at-login-toggle]").await;
    wait_until_async("the autostart entry to go", || !entry.exists()).await;

    // With "keep running in the tray" off, closing the window quits.
    app.click("[data-testid=close-to-tray-toggle]").await;
    let overview = app
        .invoke("app_overview", json!({}))
        .await
        .expect("overview");
    assert_eq!(overview["closeToTray"], json!(false));
    display.ask_to_close(window);
    wait_until_async("the app to quit", || !app_process_running()).await;
    app.finish().await;
}

/// Started at login, the app waits in the tray with no window until the person opens it; on a
/// desktop whose panel shows no tray icons, closing the window quits rather than leaving an
/// app nobody can reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, tauri-driver and an unlocked Secret Service: run scripts/test"]
async fn e2e_started_at_login_it_waits_in_the_tray_and_without_a_panel_closing_quits() {
    use desktop_bus::{Desktop, x11};

    let desktop = Desktop::start().await;
    let app = AppSession::start_with_args("login-start", &["--in-background"]).await;
    desktop.wait_for_menu_row("Open Banklinks").await;
    let display = x11::Display::open();
    let on_screen = || {
        display
            .windows_titled("Banklinks")
            .into_iter()
            .find(|window| display.is_viewable(*window))
    };
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(on_screen().is_none(), "a login start showed the window");
    assert!(app_process_running());

    desktop.click_menu_row("Open Banklinks").await;
    wait_until_async("the window to open", || on_screen().is_some()).await;
    app.wait_for_text("[data-testid=start-demo]", "").await;
    app.wait_in_view("[data-testid=start-demo]").await;

    desktop.remove_panel().await;
    let window = on_screen().expect("on screen");
    display.ask_to_close(window);
    wait_until_async("the app to quit", || !app_process_running()).await;
    app.finish().await;
}
