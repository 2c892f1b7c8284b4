//! The golden table: what each connection's card must say in every state Moneyhub can put it
//! in, headless, against the real sandbox over HTTP and the real SQLite store (the Demo
//! workspace, one fresh one per row). The expected columns are written from the seed pages
//! and `moneyhub-api.md` §7, not from the code's output:
//!
//! - `resync` after 2 days without an update; 40 days when every account is a mortgage,
//!   property, asset or loan.
//! - an expired consent: reconsent when the bank gives `tppConsent`, else a reauth.
//! - `stoppedSyncing` after 3 days of failures; `mfa_required` → refresh (legacy);
//!   `credentials_error` → reauth; `sync_partial` and `sync_error` → sync (or wait when the
//!   provider is down).
//! - `singleSyncOnly` syncs once, then only through the refresh flow.
//! - `POST /sync` once every 30 minutes per connection.
//! - an error Moneyhub did not document, or none with `status: error`, is never "Up to date".
//!
//! - "failing since" only while Moneyhub's attempts go on after its last success
//!   (`lastSyncedAt` after `lastUpdated`) and it has not stopped.
//!
//! Each row also says which actions are offered (a `!` marks one refused, with its reason),
//! whether a next automatic sync is shown, and the consent countdown.

use crate::ErrorCode;
use crate::demo_harness::{add_connection, admin, bank_id, demo_workspace, reauth_at_the_bank};
use crate::flows::ConnectionView;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

/// How a row brings its connection into its state.
#[derive(Debug, Clone, Copy)]
enum Setup {
    Nothing,
    /// Consent ends within `n` days (`n` days less an hour from now).
    ConsentEndsIn(i64),
    ConsentEndedYesterday,
    /// As Moneyhub says of a bank that gives no `tppConsent`: renewing needs a reauth.
    ConsentEndedWithoutTppConsent,
    /// The last successful update was `n` days ago.
    UpdatedDaysAgo(i64),
    ForcedError(&'static str),
    /// The sandbox clock moves on (failures pile up).
    ClockMoves(&'static str),
    /// Moneyhub has not finished the first sync.
    NeverSynced,
    /// A manual sync, then its run finishes (only the cooldown is left).
    SyncedNow,
    /// Manual syncs, half an hour apart, until the bank's daily cap is used up (Moneyhub's
    /// own first fetch counts).
    DailyCapUsed,
    /// A manual sync at a slow bank, still running.
    SyncRunning,
    /// The bank server stops answering; the refresh fails with `offline`.
    Offline,
    /// Moneyhub answers a manual sync with 429 and a `Retry-After`.
    ServerRateLimited,
    /// The person reauthenticates; under one reading every id changes (the connection's, its
    /// accounts', their transactions'), and nothing may be lost or counted twice.
    Reauthenticated,
    /// Deleted outside Banklinks.
    RemovedAtMoneyhub,
    /// The Moneyhub user is deleted; the refresh fails with `user_gone`.
    UserDeleted,
}

struct Row {
    state: &'static str,
    bank: &'static str,
    setup: Setup,
    headline: &'static str,
    /// Whether it needs the person: the dashboard's count, the tray's label and a notification.
    needs_you: bool,
    fix: &'static str,
    actions: &'static str,
    next_sync: bool,
    consent_days: Option<i64>,
    /// "Moneyhub keeps trying and failing since …": its attempts go on after its last success
    /// (`lastSyncedAt` after `lastUpdated`) and it has not stopped.
    trying: bool,
    /// Words the card's reason must contain, when it matters.
    detail: &'static str,
}

/// Long enough for Moneyhub's next automatic sync whatever the hour (the longest gap in its
/// schedule is 23:00 to 06:00), where a bank's script shows.
const NEXT_SLOT: &str = "8h";

const OB: &str = "reauth reconsent !refresh:refreshOnlyScreenScraping sync remove";
const OB_NO_SYNC_EXPIRED: &str =
    "reauth reconsent !refresh:refreshOnlyScreenScraping !sync:consentEnded remove";
const OB_COOLDOWN: &str =
    "reauth reconsent !refresh:refreshOnlyScreenScraping !sync:cooldown remove";
const LEGACY: &str = "reauth !reconsent:reconsentOnlyOpenBanking refresh sync remove";
const GONE: &str = "!reauth:removedAtMoneyhub !reconsent:removedAtMoneyhub !refresh:removedAtMoneyhub !sync:removedAtMoneyhub remove";

#[rustfmt::skip]
const ROWS: &[Row] = &[
    Row { state: "healthy", bank: "Monzo", setup: Setup::Nothing, headline: "Up to date", needs_you: false, fix: "none", actions: OB, next_sync: true, consent_days: Some(90), trying: false, detail: "" },
    Row { state: "consent due in 14 days", bank: "Monzo", setup: Setup::ConsentEndsIn(14), headline: "Consent ends in 14 days", needs_you: false, fix: "reconsent", actions: OB, next_sync: true, consent_days: Some(14), trying: false, detail: "" },
    Row { state: "consent due in 7 days", bank: "Monzo", setup: Setup::ConsentEndsIn(7), headline: "Consent ends in 7 days", needs_you: false, fix: "reconsent", actions: OB, next_sync: true, consent_days: Some(7), trying: false, detail: "" },
    Row { state: "consent due in 3 days", bank: "Monzo", setup: Setup::ConsentEndsIn(3), headline: "Consent ends in 3 days", needs_you: true, fix: "reconsent", actions: OB, next_sync: true, consent_days: Some(3), trying: false, detail: "" },
    Row { state: "consent due in 1 day", bank: "Monzo", setup: Setup::ConsentEndsIn(1), headline: "Consent ends tomorrow", needs_you: true, fix: "reconsent", actions: OB, next_sync: true, consent_days: Some(1), trying: false, detail: "" },
    Row { state: "expired, tppConsent", bank: "Monzo", setup: Setup::ConsentEndedYesterday, headline: "Consent expired", needs_you: true, fix: "reconsent", actions: OB_NO_SYNC_EXPIRED, next_sync: false, consent_days: Some(-1), trying: false, detail: "" },
    Row { state: "expired, no tppConsent (legacy)", bank: "Nutmeg", setup: Setup::ConsentEndedYesterday, headline: "Consent expired", needs_you: true, fix: "reauth", actions: "reauth !reconsent:reconsentOnlyOpenBanking refresh !sync:consentEnded remove", next_sync: false, consent_days: Some(-1), trying: false, detail: "" },
    Row { state: "expired, no tppConsent (api)", bank: "Monzo", setup: Setup::ConsentEndedWithoutTppConsent, headline: "Consent expired", needs_you: true, fix: "reauth", actions: "reauth !reconsent:needsFullReauth !refresh:refreshOnlyScreenScraping !sync:consentEnded remove", next_sync: false, consent_days: Some(-1), trying: false, detail: "" },
    Row { state: "resync after 2 days", bank: "Monzo", setup: Setup::UpdatedDaysAgo(3), headline: "Not updated recently", needs_you: true, fix: "sync", actions: OB, next_sync: true, consent_days: Some(90), trying: true, detail: "" },
    Row { state: "mortgage, 3 days: not yet resync", bank: "Halifax Mortgages", setup: Setup::UpdatedDaysAgo(3), headline: "Up to date", needs_you: false, fix: "none", actions: LEGACY, next_sync: true, consent_days: Some(90), trying: false, detail: "" },
    Row { state: "mortgage, resync after 40 days", bank: "Halifax Mortgages", setup: Setup::UpdatedDaysAgo(41), headline: "Not updated recently", needs_you: true, fix: "sync", actions: LEGACY, next_sync: true, consent_days: Some(90), trying: true, detail: "" },
    Row { state: "mortgage with a current account, resync after 2 days", bank: "Sandbox Bank (mortgage and current account)", setup: Setup::UpdatedDaysAgo(3), headline: "Not updated recently", needs_you: true, fix: "sync", actions: OB, next_sync: true, consent_days: Some(90), trying: true, detail: "" },
    Row { state: "loan, resync after 40 days", bank: "Zopa", setup: Setup::UpdatedDaysAgo(41), headline: "Not updated recently", needs_you: true, fix: "sync", actions: LEGACY, next_sync: true, consent_days: Some(90), trying: true, detail: "" },
    Row { state: "loan, 3 days: not yet resync", bank: "Zopa", setup: Setup::UpdatedDaysAgo(3), headline: "Up to date", needs_you: false, fix: "none", actions: LEGACY, next_sync: true, consent_days: Some(90), trying: false, detail: "" },
    Row { state: "stoppedSyncing", bank: "Danske Bank", setup: Setup::ClockMoves("4d"), headline: "Stopped syncing", needs_you: true, fix: "reauth", actions: OB, next_sync: false, consent_days: Some(86), trying: false, detail: "3 days" },
    Row { state: "mfa_required (legacy)", bank: "Hargreaves Lansdown", setup: Setup::ForcedError("mfa_required"), headline: "Your bank needs you", needs_you: true, fix: "refresh", actions: LEGACY, next_sync: true, consent_days: Some(90), trying: true, detail: "security question" },
    Row { state: "mfa_required (api)", bank: "Monzo", setup: Setup::ForcedError("mfa_required"), headline: "Your bank needs you", needs_you: true, fix: "reauth", actions: OB, next_sync: true, consent_days: Some(90), trying: true, detail: "security question" },
    Row { state: "sync_error at a healthy bank", bank: "Monzo", setup: Setup::ForcedError("sync_error"), headline: "Sync failed", needs_you: true, fix: "sync", actions: OB, next_sync: true, consent_days: Some(90), trying: true, detail: "" },
    Row { state: "credentials_error", bank: "Monzo", setup: Setup::ForcedError("credentials_error"), headline: "Bank login needed", needs_you: true, fix: "reauth", actions: OB, next_sync: true, consent_days: Some(90), trying: true, detail: "" },
    Row { state: "sync_partial", bank: "Sandbox Bank (partial syncs)", setup: Setup::ClockMoves(NEXT_SLOT), headline: "Partly synced", needs_you: false, fix: "sync", actions: OB, next_sync: true, consent_days: Some(90), trying: false, detail: "" },
    Row { state: "provider down", bank: "Danske Bank", setup: Setup::ClockMoves(NEXT_SLOT), headline: "Sync failed", needs_you: true, fix: "wait", actions: OB, next_sync: true, consent_days: Some(90), trying: true, detail: "" },
    Row { state: "singleSyncOnly before its sync", bank: "Vanguard Investor", setup: Setup::NeverSynced, headline: "Waiting for first data", needs_you: false, fix: "wait", actions: "reauth !reconsent:reconsentOnlyOpenBanking refresh !sync:singleSyncOnly remove", next_sync: false, consent_days: Some(90), trying: false, detail: "first sync" },
    Row { state: "singleSyncOnly after its sync", bank: "Vanguard Investor", setup: Setup::Nothing, headline: "Synced once", needs_you: false, fix: "refresh", actions: "reauth !reconsent:reconsentOnlyOpenBanking refresh !sync:singleSyncOnly remove", next_sync: false, consent_days: Some(90), trying: false, detail: "refresh" },
    Row { state: "an undocumented error", bank: "Sandbox Bank (undocumented error)", setup: Setup::ClockMoves(NEXT_SLOT), headline: "Moneyhub reports an error", needs_you: true, fix: "reauth", actions: OB, next_sync: true, consent_days: Some(90), trying: true, detail: "provider_error" },
    Row { state: "status error, no error code", bank: "Sandbox Bank (error without a code)", setup: Setup::ClockMoves(NEXT_SLOT), headline: "Moneyhub reports an error", needs_you: true, fix: "reauth", actions: OB, next_sync: true, consent_days: Some(90), trying: true, detail: "without saying why" },
    Row { state: "an undocumented extendedStatus", bank: "Sandbox Bank (undocumented status)", setup: Setup::ClockMoves(NEXT_SLOT), headline: "Moneyhub reports a problem", needs_you: true, fix: "reauth", actions: OB, next_sync: false, consent_days: Some(90), trying: false, detail: "suspended" },
    Row { state: "Moneyhub still trying", bank: "Danske Bank", setup: Setup::ClockMoves("2d"), headline: "Sync failed", needs_you: true, fix: "wait", actions: OB, next_sync: true, consent_days: Some(88), trying: true, detail: "" },
    Row { state: "a server 429", bank: "Monzo", setup: Setup::ServerRateLimited, headline: "Up to date", needs_you: false, fix: "none", actions: "reauth reconsent !refresh:refreshOnlyScreenScraping !sync:serverAsked remove", next_sync: true, consent_days: Some(90), trying: false, detail: "" },
    Row { state: "reauthenticated (the ids may change)", bank: "Monzo", setup: Setup::Reauthenticated, headline: "Up to date", needs_you: false, fix: "none", actions: OB, next_sync: true, consent_days: Some(90), trying: false, detail: "" },
    Row { state: "cooldown", bank: "Monzo", setup: Setup::SyncedNow, headline: "Up to date", needs_you: false, fix: "none", actions: OB_COOLDOWN, next_sync: true, consent_days: Some(90), trying: false, detail: "" },
    Row { state: "Triodos with 4 used", bank: "Triodos Bank", setup: Setup::DailyCapUsed, headline: "Up to date", needs_you: false, fix: "none", actions: "reauth reconsent !refresh:refreshOnlyScreenScraping !sync:dailyCap remove", next_sync: true, consent_days: Some(90), trying: false, detail: "" },
    Row { state: "syncing in progress", bank: "Sandbox Bank (slow syncs)", setup: Setup::SyncRunning, headline: "Syncing", needs_you: false, fix: "none", actions: OB_COOLDOWN, next_sync: true, consent_days: Some(90), trying: false, detail: "fetching" },
    Row { state: "offline (what was saved stays)", bank: "Monzo", setup: Setup::Offline, headline: "Up to date", needs_you: false, fix: "none", actions: OB, next_sync: true, consent_days: Some(90), trying: false, detail: "" },
    Row { state: "removed at Moneyhub", bank: "Monzo", setup: Setup::RemovedAtMoneyhub, headline: "Removed at Moneyhub", needs_you: true, fix: "remove", actions: GONE, next_sync: false, consent_days: None, trying: false, detail: "deleted outside Banklinks" },
    Row { state: "user deleted (what was saved stays)", bank: "Monzo", setup: Setup::UserDeleted, headline: "Removed at Moneyhub", needs_you: true, fix: "remove", actions: GONE, next_sync: false, consent_days: None, trying: false, detail: "deleted outside Banklinks" },
];

#[test]
fn the_rows_start_on_a_wednesday_morning_whatever_the_day() {
    use chrono::{Datelike, TimeZone, Timelike, Weekday};
    for day in 0..14 {
        let now = Utc
            .with_ymd_and_hms(2026, 10, 20, 23, 59, 0)
            .single()
            .expect("a time")
            + Duration::days(day);
        let start = a_wednesday_morning_after(now);
        assert_eq!(
            (start.weekday(), start.hour(), start.minute()),
            (Weekday::Wed, 9, 30)
        );
        assert!(
            start > now && start - now <= Duration::days(8),
            "{now} → {start}"
        );
    }
}

/// Where Moneyhub's docs leave a gap, each reading the sandbox can play: every row must say the
/// same under all of them (the manual-sync window's readings change what a row can reach, so
/// they have their own test in `flows_tests`). One test per reading, so they run side by side.
async fn every_state_says_what_the_seeds_say_under(field: &str, value: Value) {
    let mut readings =
        serde_json::to_value(moneyhub_sandbox::world::Readings::default()).expect("json");
    if !field.is_empty() {
        readings[field] = value;
    }
    let mut failures = Vec::new();
    for row in ROWS {
        let view = run(row, &readings).await;
        if let Err(problem) = check(row, &view) {
            failures.push(format!("{}: {problem}", row.state));
        }
    }
    assert!(failures.is_empty(), "{readings}\n{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_says_what_the_seeds_say() {
    every_state_says_what_the_seeds_say_under("", Value::Null).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_says_the_same_without_links_next() {
    every_state_says_what_the_seeds_say_under("nextLinks", json!(false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_says_the_same_whatever_words_refuse_a_consent() {
    every_state_says_what_the_seeds_say_under("consentRefusalWords", json!("Forbidden")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_says_the_same_when_a_running_sync_has_no_record_yet() {
    every_state_says_what_the_seeds_say_under("runningSyncRecord", json!("absent")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_says_the_same_when_a_running_sync_says_it_is_in_progress() {
    every_state_says_what_the_seeds_say_under("runningSyncRecord", json!("inProgress")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_says_the_same_when_a_reauth_renews_every_id() {
    every_state_says_what_the_seeds_say_under("reauthRenewsIds", json!(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_says_the_same_when_routes_take_only_the_api_references_scopes() {
    every_state_says_what_the_seeds_say_under("routeScopes", json!("apiReference")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_says_the_same_when_a_renewal_is_confirmed_at_the_next_sync() {
    every_state_says_what_the_seeds_say_under("renewalWaitsForNextSync", json!(true)).await;
}

/// The next Wednesday at 09:30 UTC: every row starts at the same hour of the same weekday, far
/// from midnight and from a clock change (always on a Sunday), so no row depends on the day or
/// the hour the suite runs ("ends in 90 days" is still 90 after the clock moves 8 hours).
fn a_wednesday_morning_after(now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    use chrono::{Datelike, NaiveTime, Weekday};
    let days_ahead = match (7 + Weekday::Wed.num_days_from_monday()
        - now.weekday().num_days_from_monday())
        % 7
    {
        0 => 7,
        days => days,
    };
    (now.date_naive() + Duration::days(i64::from(days_ahead)))
        .and_time(NaiveTime::from_hms_opt(9, 30, 0).expect("a time"))
        .and_utc()
}

async fn run(row: &Row, readings: &Value) -> ConnectionView {
    let (_dir, workspace) = demo_workspace("Golden").await;
    admin(
        &workspace,
        reqwest::Method::PUT,
        "/readings",
        readings.clone(),
    )
    .await;
    let admin = |method: reqwest::Method, path: String, body: Value| {
        let workspace = &workspace;
        async move { admin(workspace, method, &path, body).await }
    };
    let iso = |at: chrono::DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let start = a_wednesday_morning_after(workspace.now());
    admin(
        reqwest::Method::POST,
        "/clock".into(),
        json!({ "to": iso(start) }),
    )
    .await;
    let bank = bank_id(&workspace, row.bank).await;
    let mut id = add_connection(&workspace, &bank).await;
    let now = workspace.now();
    let patch = |body: Value| admin(reqwest::Method::PATCH, format!("/connections/{id}"), body);
    match row.setup {
        Setup::Nothing => {}
        Setup::ConsentEndsIn(days) => {
            patch(json!({ "expiresAt": iso(now + Duration::days(days) - Duration::hours(1)) }))
                .await
        }
        Setup::ConsentEndedYesterday => {
            patch(json!({ "expiresAt": iso(now - Duration::days(1) + Duration::minutes(1)) })).await
        }
        Setup::ConsentEndedWithoutTppConsent => {
            patch(json!({
                "expiresAt": iso(now - Duration::days(1) + Duration::minutes(1)),
                "tppConsent": false
            }))
            .await
        }
        Setup::UpdatedDaysAgo(days) => {
            patch(json!({ "lastUpdated": iso(now - Duration::days(days)) })).await
        }
        Setup::ForcedError(code) => patch(json!({ "error": code })).await,
        Setup::ClockMoves(by) => {
            workspace.demo_advance_clock(by).await.expect("clock");
        }
        Setup::SyncedNow => {
            workspace.sync_now(&id).await.expect("sync");
            admin(
                reqwest::Method::POST,
                "/clock".into(),
                json!({ "advance": "10s" }),
            )
            .await;
            workspace.tick(Utc::now()).await;
        }
        Setup::NeverSynced => patch(json!({ "neverSynced": true })).await,
        Setup::DailyCapUsed => {
            let mut refused = None;
            for _ in 0..12 {
                admin(
                    reqwest::Method::POST,
                    "/clock".into(),
                    json!({ "advance": "31m" }),
                )
                .await;
                workspace.tick(Utc::now()).await;
                if let Err(err) = workspace.sync_now(&id).await {
                    refused = Some(err);
                    break;
                }
            }
            let refused = refused.expect("the cap is reached within a dozen syncs");
            assert_eq!(refused.code(), ErrorCode::SyncNotYet, "{refused}");
        }
        Setup::SyncRunning => workspace.sync_now(&id).await.expect("sync"),
        Setup::ServerRateLimited => {
            admin(
                reqwest::Method::PUT,
                "/faults".into(),
                json!([{ "pathPrefix": "/v3/sync", "status": 429, "times": 1 }]),
            )
            .await;
            let refused = workspace.sync_now(&id).await.expect_err("429");
            assert_eq!(refused.code(), ErrorCode::SyncNotYet, "{refused}");
        }
        Setup::Reauthenticated => {
            // The whole history first, so only the reauth could change what is held.
            workspace.demo_advance_clock("1h").await.expect("clock");
            workspace.refresh().await.expect("refresh");
            let before = held_data(&workspace, &id).await;
            id = reauth_at_the_bank(&workspace, &id).await.connection_id;
            workspace.refresh().await.expect("refresh");
            let after = held_data(&workspace, &id).await;
            assert_eq!(after, before, "a reauth loses or doubles nothing");
        }
        Setup::Offline => {
            workspace.demo_set_online(false).await.expect("offline");
            let refused = workspace.refresh().await.expect_err("offline");
            assert_eq!(refused.code(), ErrorCode::Offline);
        }
        Setup::RemovedAtMoneyhub => {
            admin(
                reqwest::Method::POST,
                format!("/connections/{id}/remove-elsewhere"),
                json!({}),
            )
            .await
        }
        Setup::UserDeleted => {
            let user = workspace.overview().await.expect("overview");
            let profile = user.active_profile.expect("profile");
            let user_id = user
                .profiles
                .iter()
                .find(|p| p.id == profile)
                .map(|p| p.user_id.clone())
                .expect("user");
            admin(
                reqwest::Method::DELETE,
                format!("/users/{user_id}"),
                json!({}),
            )
            .await;
            let refused = workspace.refresh().await.expect_err("user gone");
            assert_eq!(refused.code(), ErrorCode::UserGone);
        }
    }
    if !matches!(row.setup, Setup::Offline | Setup::UserDeleted) {
        workspace.refresh().await.expect("refresh");
    }
    workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .find(|v| v.connection.id == id)
        .expect("the connection is listed")
}

/// What the device holds for a connection: its accounts' names and how many transactions.
async fn held_data(workspace: &crate::workspace::Workspace, id: &str) -> (Vec<String>, u64) {
    let view = workspace
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .find(|v| v.connection.id == id)
        .expect("the connection is listed");
    let mut names: Vec<String> = view.accounts.into_iter().map(|a| a.name).collect();
    names.sort();
    let total = workspace
        .transactions(id, "", 1, 0)
        .expect("transactions")
        .total;
    (names, total)
}

fn check(row: &Row, view: &ConnectionView) -> Result<(), String> {
    let health = &view.health;
    let mut problems = Vec::new();
    if health.headline != row.headline {
        problems.push(format!(
            "headline {:?}, want {:?}",
            health.headline, row.headline
        ));
    }
    let fix = serde_json::to_value(health.recommended).expect("fix")["kind"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if fix != row.fix {
        problems.push(format!("fix {fix:?}, want {:?}", row.fix));
    }
    let actions: Vec<String> = health
        .actions
        .iter()
        .map(|check| {
            let name = serde_json::to_value(check.action).expect("action");
            let name = name.as_str().unwrap_or_default();
            match &check.reason {
                None if check.allowed => name.to_string(),
                reason => format!(
                    "!{name}:{}",
                    serde_json::to_value(reason).expect("reason")["code"]
                        .as_str()
                        .unwrap_or("none")
                ),
            }
        })
        .collect();
    if actions.join(" ") != row.actions {
        problems.push(format!(
            "actions {:?}, want {:?}",
            actions.join(" "),
            row.actions
        ));
    }
    if view.next_automatic_sync.is_some() != row.next_sync {
        problems.push(format!(
            "next automatic sync {:?}, want {}",
            view.next_automatic_sync,
            if row.next_sync { "one" } else { "none" }
        ));
    }
    let consent_days = health.consent.as_ref().map(|c| c.days_left);
    if consent_days != row.consent_days {
        problems.push(format!(
            "consent days {consent_days:?}, want {:?}",
            row.consent_days
        ));
    }
    if view.history_arriving && (health.consent_ended || view.removed_at_source.is_some()) {
        problems
            .push("says older history is on its way from a connection that shares nothing".into());
    }
    if health.failing_since.is_some() != row.trying {
        problems.push(format!(
            "failing since {:?}, want {}",
            health.failing_since,
            if row.trying { "a time" } else { "none" }
        ));
    }
    if !health.detail.contains(row.detail) {
        problems.push(format!("reason {:?} lacks {:?}", health.detail, row.detail));
    }
    // The same words on every surface: the tray counts what the card says needs you, and a
    // notification tells the card's own headline (or its consent line), nothing else.
    if health.needs_you != row.needs_you {
        problems.push(format!(
            "needs you {}, want {}",
            health.needs_you, row.needs_you
        ));
    }
    let tray = crate::workspace::Attention::from_views(std::slice::from_ref(view)).summary();
    let want_tray = if row.needs_you {
        "1 needs you"
    } else {
        "All connections are fine"
    };
    if tray != want_tray {
        problems.push(format!("tray {tray:?}, want {want_tray:?}"));
    }
    let notices = crate::notices::due(std::slice::from_ref(view), &Default::default());
    let consent_line = health.consent.as_ref().map(|c| c.text.as_str());
    for notice in &notices {
        let own_words = notice.body == health.headline
            || consent_line.is_some_and(|line| notice.body.starts_with(line));
        if !own_words {
            problems.push(format!("a notification says {:?}", notice.body));
        }
    }
    if row.needs_you && notices.is_empty() {
        problems.push("needs you, but no notification".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
