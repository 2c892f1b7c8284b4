//! The flows end to end against the in-process sandbox.

use moneyhub_sandbox::test_support as harness;

use crate::deep_link::{AuthCallback, DeepLink};
use crate::flows::*;
use crate::health;
use crate::health::Action;
use crate::keychain::{MemoryKeychain, SecretStore};
use crate::store::Store;
use chrono::{Duration, Utc};
use moneyhub::{BankChoice, ClientAuth, Config};
use moneyhub::{Moneyhub, Purpose};
use moneyhub_sandbox::clients::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI};
use std::sync::{Arc, Mutex};

use crate::environment::SandboxTime;

const MOCK_BANK: &str = "1ffe704d39629a929c8e293880fb449a";

async fn journey(sandbox: &harness::Sandbox, url: &url::Url) -> AuthCallback {
    let response = sandbox.http.get(url.as_str()).send().await.expect("open");
    let callback = sandbox.walk(response, &[], &mut Vec::new()).await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(callback.params.iter())
        .finish();
    let link = format!(
        "{DEMO_REDIRECT_URI}{}{query}",
        if callback.in_fragment { '#' } else { '?' }
    );
    // The app's own parser, as for a link the desktop delivers.
    match link.parse::<DeepLink>().expect("a valid callback") {
        DeepLink::AuthCallback(callback) => callback,
        other => panic!("not a callback: {other:?}"),
    }
}

/// The same bank answer delivered twice at once (a double click on the bank's last button, two
/// browser tabs): one connection, and the other delivery is known for a duplicate, not shown
/// as an error; a made-up state is still a forgery.
#[tokio::test]
async fn the_same_callback_twice_at_once_connects_once_and_the_second_is_a_duplicate() {
    let sandbox = harness::Sandbox::start().await;
    let (_dir, flows, user) = flows_on(&sandbox).await;
    let url = flows
        .begin(
            Purpose::AddConnection {
                user_id: user.clone(),
                bank: BankChoice::Bank(MOCK_BANK.into()),
            },
            None,
        )
        .await
        .expect("begin");
    let callback = journey(&sandbox, &url).await;
    let (first, second) = tokio::join!(flows.complete(&callback), flows.complete(&callback));
    let (connected, duplicate) = match (first, second) {
        (Ok(connected), Err(err)) | (Err(err), Ok(connected)) => (connected, err),
        other => panic!("one delivery connects, the other does not: {other:?}"),
    };
    assert!(connected.connection_id.starts_with(MOCK_BANK));
    assert!(
        matches!(duplicate, FlowError::AlreadyHandled),
        "{duplicate:?}"
    );
    assert_eq!(flows.dashboard().expect("dashboard").len(), 1);

    let forged = format!(
        "banklinks://callback?code=FORGED-CODE-1234&state={}",
        "f".repeat(43)
    )
    .parse::<DeepLink>()
    .expect("parses");
    let DeepLink::AuthCallback(forged) = forged else {
        panic!("a callback");
    };
    assert!(matches!(
        flows.complete(&forged).await,
        Err(FlowError::NoSuchAuthorization)
    ));
}

#[tokio::test]
async fn the_lifecycle_end_to_end_against_the_sandbox_with_a_manual_clock() {
    let sandbox = harness::Sandbox::start().await;
    let keychain = Arc::new(MemoryKeychain::default());
    let (dir, flows, user) = flows_with(&sandbox, keychain.clone()).await;
    let db_path = dir.path().join("banklinks.sqlite");
    let mut events = flows.subscribe();

    // Add a connection.
    let url = flows
        .begin(
            Purpose::AddConnection {
                user_id: user.clone(),
                bank: BankChoice::Bank(MOCK_BANK.into()),
            },
            None,
        )
        .await
        .expect("begin");
    let pending_state = flows.store().pending("p1", flows.now()).expect("pending")[0]
        .state
        .clone();
    let verifier = keychain
        .get(&flows.secret_key(&pending_state, "verifier"))
        .expect("keychain")
        .expect("verifier stored");
    let callback = journey(&sandbox, &url).await;
    let connected = flows.complete(&callback).await.expect("complete");
    assert!(connected.connection_id.starts_with(MOCK_BANK));
    assert!(
        keychain
            .get(&flows.secret_key(&pending_state, "verifier"))
            .expect("keychain")
            .is_none(),
        "secrets are removed after use"
    );
    assert!(
        matches!(
            flows.complete(&callback).await,
            Err(FlowError::AlreadyHandled)
        ),
        "a callback works once; the same one again is known for a duplicate, not a forgery"
    );

    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert!(
        seen.iter()
            .any(|e| matches!(e, FlowEvent::Connected { .. })),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(
            |e| matches!(e, FlowEvent::HistoryProgress { transactions, .. } if *transactions > 0)
        ),
        "{seen:?}"
    );
    // The new card's own progress: from nought (its accounts saved, before the first page),
    // only ever up.
    let progress: Vec<u32> = seen
        .iter()
        .filter_map(|e| match e {
            FlowEvent::HistoryProgress {
                connection_id,
                transactions,
            } if *connection_id == connected.connection_id => Some(*transactions),
            _ => None,
        })
        .collect();
    assert_eq!(progress.first(), Some(&0), "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");

    let dashboard = flows.dashboard().expect("dashboard");
    assert_eq!(dashboard.len(), 1);
    assert_eq!(dashboard[0].accounts.len(), 2);
    assert_eq!(dashboard[0].health.recommended, health::Fix::None);
    let account = dashboard[0].accounts[0].id.clone();
    assert!(
        !flows
            .store()
            .transactions("p1", &account, 10, 0)
            .expect("rows")
            .is_empty()
    );

    // Sync once; the second click is answered locally with when it will be allowed.
    // Two clicks at once: one runs, the other is told it is already running.
    let ip = Some("203.0.113.5".parse().expect("ip"));
    let (first, second) = tokio::join!(
        flows.sync_now(&connected.connection_id, ip),
        flows.sync_now(&connected.connection_id, ip)
    );
    assert!(first.is_ok(), "{first:?}");
    assert!(matches!(second, Err(FlowError::Busy(_))), "{second:?}");
    match flows.sync_now(&connected.connection_id, None).await {
        Err(FlowError::SyncNotYet(at)) => {
            assert_eq!(at, harness::start_time() + Duration::minutes(30))
        }
        other => panic!("expected a local refusal, got {other:?}"),
    }
    let sync = flows.dashboard().expect("dashboard")[0]
        .health
        .check(Action::Sync)
        .cloned()
        .expect("sync check");
    assert!(!sync.allowed && sync.queueable(), "{sync:?}");

    // 91 days later the consent has expired: the fix is a reconsent; doing it heals it.
    sandbox.advance("91d").await;
    while events.try_recv().is_ok() {}
    flows.refresh().await.expect("refresh");
    // Bringing a known connection up to date is not "fetching history" on its card.
    let mut later = Vec::new();
    while let Ok(event) = events.try_recv() {
        later.push(event);
    }
    assert!(
        !later
            .iter()
            .any(|e| matches!(e, FlowEvent::HistoryProgress { .. })),
        "{later:?}"
    );
    let expired = &flows.dashboard().expect("dashboard")[0];
    assert_eq!(
        expired.health.recommended,
        health::Fix::Reconsent,
        "{:?}",
        expired.health
    );
    let url = flows
        .begin(
            Purpose::Reconsent {
                user_id: user.clone(),
                connection_id: connected.connection_id.clone(),
                expires_at: None,
            },
            None,
        )
        .await
        .expect("begin");
    let renewed = flows
        .complete(&journey(&sandbox, &url).await)
        .await
        .expect("reconsent");
    assert_eq!(
        flows.dashboard().expect("dashboard")[0].health.recommended,
        health::Fix::None
    );
    // What changed: the consent's new end, nothing else; kept in the journal too.
    let changes = renewed.changes.expect("the consent moved");
    assert_eq!(
        changes.consent_until,
        flows.dashboard().expect("dashboard")[0]
            .connection
            .expires_at
    );
    assert!(changes.accounts_added.is_empty() && changes.previous_id.is_none());
    assert!(flows.journal().expect("journal").iter().any(|e| matches!(
        &e.event,
        crate::journal::JournalEvent::Changed {
            consent_until: Some(_),
            ..
        }
    )));

    // A reauth at a bank that changes the id moves the data and joins the journal.
    let bank = sandbox.bank_id("Sandbox Bank (new id on reauth)").await;
    let url = flows
        .begin(
            Purpose::AddConnection {
                user_id: user.clone(),
                bank: BankChoice::Bank(bank),
            },
            None,
        )
        .await
        .expect("begin");
    let second = flows
        .complete(&journey(&sandbox, &url).await)
        .await
        .expect("added");
    let url = flows
        .begin(
            Purpose::Reauth {
                user_id: user.clone(),
                connection_id: second.connection_id.clone(),
            },
            None,
        )
        .await
        .expect("begin");
    let moved = flows
        .complete(&journey(&sandbox, &url).await)
        .await
        .expect("reauth");
    assert_eq!(
        moved.previous_connection_id.as_deref(),
        Some(second.connection_id.as_str())
    );
    assert_eq!(
        moved
            .changes
            .as_ref()
            .and_then(|c| c.previous_id.as_deref()),
        Some(second.connection_id.as_str()),
        "the new identity is among what changed"
    );
    let ids: Vec<String> = flows
        .dashboard()
        .expect("dashboard")
        .into_iter()
        .map(|v| v.connection.id)
        .collect();
    assert!(
        ids.contains(&moved.connection_id) && !ids.contains(&second.connection_id),
        "{ids:?}"
    );
    let events: Vec<String> = flows
        .store()
        .connection_journal("p1", &moved.connection_id)
        .expect("journal")
        .into_iter()
        .map(|e| e.event.kind())
        .collect();
    assert!(
        events.contains(&"added".to_string()) && events.contains(&"reauthed".to_string()),
        "{events:?}"
    );

    // Remove: Moneyhub first, then here, with a receipt.
    let receipt = flows.remove(&moved.connection_id).await.expect("remove");
    assert!(
        receipt.accounts >= 1 && receipt.transactions > 0,
        "{receipt:?}"
    );
    assert_eq!(flows.dashboard().expect("dashboard").len(), 1);

    // Exports.
    let csv = flows.export_journal(ExportFormat::Csv).expect("csv");
    assert!(
        csv.starts_with("seq,at,connection_id,bank,event,actor,details\n")
            && csv.contains(",removed,user,"),
        "{csv}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&flows.export_journal(ExportFormat::Json).expect("json"))
            .expect("valid JSON");
    assert!(json.as_array().is_some_and(|a| a.len() > 5));
    let transactions = flows
        .export_transactions(&account, ExportFormat::Csv)
        .expect("csv");
    assert!(transactions.lines().count() > 10 && transactions.contains(",GBP,"));

    // Offline: the sandbox is gone; the dashboard still answers from the store, errors are typed.
    let harness::Sandbox { running, .. } = sandbox;
    running.stop().await;
    assert_eq!(flows.dashboard().expect("offline dashboard").len(), 1);
    assert!(matches!(
        flows.refresh().await,
        Err(FlowError::Moneyhub(moneyhub::Error::Transport { .. }))
    ));

    // No secret reached the database file.
    drop(flows);
    let mut bytes = std::fs::read(&db_path).expect("db");
    bytes.extend(std::fs::read(dir.path().join("banklinks.sqlite-wal")).unwrap_or_default());
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(
        !haystack.contains(verifier.expose().as_str()),
        "a PKCE verifier was written to SQLite"
    );
    assert!(!haystack.contains(DEMO_CLIENT_SECRET));
}

#[tokio::test]
async fn demo_personas_show_every_kind_of_problem_and_profiles_never_mix() {
    use crate::environment::{self, Demo, EnvironmentError};

    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("banklinks.sqlite")).expect("store");
    let keychain = Arc::new(MemoryKeychain::default());
    let now = Utc::now();
    let demo = Demo::start(&store, Some(dir.path().join("sandbox")), now)
        .await
        .expect("demo");
    // What `Workspace::use_persona` does over the admin API, here straight on the sandbox.
    let load = |persona: &str| -> Option<String> {
        let (user_id, _) = demo.sandbox.load_persona(persona, DEMO_CLIENT_ID)?;
        let profile = format!("{}-{persona}-{user_id}", environment::DEMO);
        store
            .ensure_profile(&profile, environment::DEMO, &user_id, persona, now)
            .ok()?;
        Some(profile)
    };
    let attention = load("needs-attention").expect("persona");
    let everyday = load("everyday").expect("persona");
    assert!(load("nonsense").is_none());
    let profiles = store.profiles(environment::DEMO).expect("profiles");
    assert_eq!(profiles.len(), 2);
    let store = Arc::new(Mutex::new(store));

    let flows_for = |profile: &str| {
        let user = profiles
            .iter()
            .find(|(id, _, _)| id == profile)
            .map(|(_, user, _)| user.clone())
            .expect("user");
        let client = environment::client(
            &demo.settings,
            keychain.as_ref(),
            Arc::new(moneyhub::SystemEnvironment),
        )
        .expect("client");
        Flows::new(
            client,
            store.clone(),
            keychain.clone(),
            environment::DEMO.into(),
            profile.to_string(),
            user,
        )
    };
    let attention_flows = flows_for(&attention);
    attention_flows.refresh().await.expect("refresh");
    let views = attention_flows.dashboard().expect("dashboard");
    assert_eq!(
        views.len(),
        7,
        "six problems and the bank that issues a new id on reauth"
    );
    let fix_of = |name: &str| {
        views
            .iter()
            .find(|v| v.connection.name.contains(name))
            .map(|v| v.health.recommended)
            .expect(name)
    };
    assert_eq!(
        fix_of("Hargreaves"),
        health::Fix::Refresh,
        "MFA on a legacy connection"
    );
    assert_eq!(
        fix_of("Scottish Widows"),
        health::Fix::Reauth,
        "credentials error"
    );
    assert_eq!(
        fix_of("consent expires"),
        health::Fix::Reconsent,
        "consent ending soon"
    );
    assert_eq!(
        fix_of("Ulster"),
        health::Fix::Sync,
        "a failed sync: try a sync first"
    );

    let everyday_flows = flows_for(&everyday);
    everyday_flows.refresh().await.expect("refresh");
    let views = everyday_flows.dashboard().expect("dashboard");
    assert_eq!(views.len(), 3, "only this profile's connections");
    assert!(
        views
            .iter()
            .all(|v| v.health.recommended == health::Fix::None),
        "{views:?}"
    );

    // The Demo's client secret is built in and never put in the keychain; removing the
    // environment removes its profiles' data.
    assert!(
        keychain
            .get("demo/client-secret")
            .expect("keychain")
            .is_none()
    );
    drop(attention_flows);
    drop(everyday_flows);
    let mut store = Arc::try_unwrap(store)
        .expect("sole owner")
        .into_inner()
        .expect("store");
    environment::remove(&mut store, keychain.as_ref(), environment::DEMO).expect("remove");
    assert!(
        store
            .profiles(environment::DEMO)
            .expect("profiles")
            .is_empty()
    );
    assert!(store.dashboard(&everyday).expect("dashboard").is_empty());
    // Any other environment's client needs its secret from the keychain.
    let mut custom = demo.settings.clone();
    custom.id = "custom-sandbox".into();
    custom.kind = environment::EnvironmentKind::Custom;
    environment::save(&store, keychain.as_ref(), &custom, None, now).expect("saved");
    assert!(matches!(
        environment::client(
            &custom,
            keychain.as_ref(),
            Arc::new(moneyhub::SystemEnvironment)
        ),
        Err(EnvironmentError::MissingSecret(_))
    ));

    let mut bad = demo.settings.clone();
    bad.identity_url = "ftp://example.com".into();
    assert!(matches!(
        environment::save(&store, keychain.as_ref(), &bad, None, now),
        Err(EnvironmentError::BadUrl(_))
    ));
}

/// A sandbox on the manual clock, playing `readings` where the docs leave a gap.
async fn sandbox_playing(readings: moneyhub_sandbox::world::Readings) -> harness::Sandbox {
    harness::Sandbox::start_with(moneyhub_sandbox::SandboxConfig {
        manual_clock_start: Some(harness::start_time()),
        readings,
        ..moneyhub_sandbox::SandboxConfig::default()
    })
    .await
}

/// The person adds a connection at `bank` through the bank's page: its id.
async fn add_at(flows: &Flows, sandbox: &harness::Sandbox, user: &str, bank: String) -> String {
    let url = flows
        .begin(
            Purpose::AddConnection {
                user_id: user.to_string(),
                bank: BankChoice::Bank(bank),
            },
            None,
        )
        .await
        .expect("begin");
    flows
        .complete(&journey(sandbox, &url).await)
        .await
        .expect("connected")
        .connection_id
}

/// Flows for a new user of `sandbox`, on a real SQLite file (keep the folder alive).
async fn flows_on(sandbox: &harness::Sandbox) -> (tempfile::TempDir, Flows, String) {
    flows_with(sandbox, Arc::new(MemoryKeychain::default())).await
}

/// Flows for a new user of `sandbox` keeping its secrets in `keychain`, on a real SQLite file
/// (`banklinks.sqlite` in the folder returned; keep it alive).
async fn flows_with(
    sandbox: &harness::Sandbox,
    keychain: Arc<MemoryKeychain>,
) -> (tempfile::TempDir, Flows, String) {
    let user = sandbox.create_user().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("banklinks.sqlite")).expect("store");
    store
        .ensure_environment(
            &crate::store::EnvironmentRecord {
                id: "demo".into(),
                kind: "demo".into(),
                name: "Demo".into(),
                identity_url: sandbox.running.identity_url(),
                api_url: sandbox.running.api_url(),
                client_id: DEMO_CLIENT_ID.into(),
            },
            harness::start_time(),
        )
        .expect("env");
    store
        .ensure_profile("p1", "demo", &user, "Alex", harness::start_time())
        .expect("profile");
    let config = Config::new(
        url::Url::parse(&sandbox.running.identity_url()).expect("url"),
        url::Url::parse(&sandbox.running.api_url()).expect("url"),
        DEMO_CLIENT_ID,
        ClientAuth::SecretBasic {
            secret: DEMO_CLIENT_SECRET.into(),
        },
        DEMO_REDIRECT_URI,
    );
    let client = Moneyhub::with_environment(
        config,
        Arc::new(SandboxTime(sandbox.running.shared.clone())),
    )
    .expect("client");
    let flows = Flows::new(
        client,
        Arc::new(Mutex::new(store)),
        keychain,
        "demo".into(),
        "p1".into(),
        user.clone(),
    );
    (dir, flows, user)
}

/// Moneyhub's docs disagree on the manual-sync window (30 minutes in the connections guide, once
/// per 5 seconds on the rate-limit page), so the sandbox runs at 5 s, 30 min and 1 h. Under every
/// one the core keeps its own 30-minute pacing (worded as Banklinks', never as Moneyhub's), and
/// when Moneyhub asks for longer, the check honours exactly the wait it asked for.
#[tokio::test]
async fn every_manual_sync_window_moneyhub_may_have_is_honoured_and_none_is_invented() {
    for window in [
        Duration::seconds(5),
        Duration::minutes(30),
        Duration::hours(1),
    ] {
        let sandbox = harness::Sandbox::start_with(moneyhub_sandbox::SandboxConfig {
            manual_clock_start: Some(harness::start_time()),
            sync_window: window,
            ..moneyhub_sandbox::SandboxConfig::default()
        })
        .await;
        let (_dir, flows, user) = flows_on(&sandbox).await;
        let id = add_at(&flows, &sandbox, &user, MOCK_BANK.into()).await;
        flows.sync_now(&id, None).await.expect("the first sync");
        let synced_at = flows.now();

        // Straight after: Banklinks' own pacing, which it does not put down to Moneyhub.
        let check = flows.sync_check(&id).expect("check");
        assert!(!check.allowed, "{window}: {check:?}");
        assert_eq!(
            check.reason,
            Some(health::ActionReason::Cooldown { minutes: 30 }),
            "{window}"
        );
        let words = check.reason.expect("a reason").describe();
        assert!(!words.starts_with("Moneyhub"), "{window}: {words}");

        sandbox.advance("31m").await;
        flows.check_syncs_in_flight().await.expect("settle");
        assert!(flows.sync_check(&id).expect("check").allowed, "{window}");
        match flows.sync_now(&id, None).await {
            Ok(()) => assert!(
                window <= Duration::minutes(31),
                "{window}: Moneyhub took it"
            ),
            Err(FlowError::SyncNotYet(at)) => {
                assert!(window > Duration::minutes(31), "{window}: refused at {at}");
                // Exactly Moneyhub's wait, and the check says it was Moneyhub's.
                assert_eq!(at, synced_at + window, "{window}");
                let check = flows.sync_check(&id).expect("check");
                assert_eq!(check.reason, Some(health::ActionReason::ServerAsked));
                assert_eq!(check.available_at, Some(at));
            }
            Err(other) => panic!("{window}: {other}"),
        }
    }
}

/// `links.next` is shown in Moneyhub's docs but not promised: with or without it on full pages,
/// every transaction comes, once.
#[tokio::test]
async fn history_is_paged_by_count_whether_or_not_pages_link_the_next() {
    let mut totals = Vec::new();
    for next_links in [true, false] {
        let sandbox = sandbox_playing(moneyhub_sandbox::world::Readings {
            next_links,
            ..moneyhub_sandbox::world::Readings::default()
        })
        .await;
        let (_dir, flows, user) = flows_on(&sandbox).await;
        add_at(&flows, &sandbox, &user, MOCK_BANK.into()).await;
        let mut pages = flows.client().transactions(
            &user,
            moneyhub::api::TransactionQuery {
                page_size: Some(25),
                ..moneyhub::api::TransactionQuery::default()
            },
        );
        let mut ids = std::collections::HashSet::new();
        let mut count = 0;
        let mut page_count = 0;
        while let Some(page) = pages.next_page().await.expect("a page") {
            page_count += 1;
            count += page.len();
            ids.extend(page.into_iter().map(|t| t.id));
        }
        assert!(
            page_count > 3,
            "{page_count} pages: the history spans several"
        );
        assert_eq!(ids.len(), count, "each once");
        totals.push(count);
    }
    assert_eq!(totals[0], totals[1], "the same history either way");
}

/// Moneyhub's words for a sync refused because the consent ended are not published: whatever
/// they are, the core learns it from the connection's own fields (read again on the refusal),
/// answers `consent_expired`, and the card says so.
#[tokio::test]
async fn a_refused_consent_is_known_by_moneyhubs_fields_not_its_words() {
    for words in ["The consent for this connection has expired", "Forbidden"] {
        let sandbox = sandbox_playing(moneyhub_sandbox::world::Readings {
            consent_refusal_words: words.into(),
            ..moneyhub_sandbox::world::Readings::default()
        })
        .await;
        let (_dir, flows, user) = flows_on(&sandbox).await;
        let id = add_at(&flows, &sandbox, &user, MOCK_BANK.into()).await;
        // The bank ends the consent after Banklinks last looked.
        sandbox
            .admin(
                reqwest::Method::PATCH,
                &format!("/connections/{id}"),
                serde_json::json!({ "expiresAt": crate::store::iso(flows.now() - Duration::hours(1)) }),
            )
            .await;
        assert!(flows.sync_check(&id).expect("check").allowed, "{words}");
        let refused = flows.sync_now(&id, None).await.expect_err("refused");
        assert_eq!(
            crate::error::Error::from(refused).code(),
            crate::error::ErrorCode::ConsentExpired,
            "{words}"
        );
        let view = flows.connection_view(&id).expect("view");
        assert_eq!(view.health.headline, "Consent expired", "{words}");
    }
}

/// The docs do not say whether a renewed consent is cleared at once or at Moneyhub's next sync,
/// so the sandbox plays both. Under either, the card right after a successful renewal says it
/// worked (never "you already tried that, contact support"), and the next sync brings it back
/// to "Up to date".
#[tokio::test]
async fn a_renewal_is_believed_until_moneyhubs_next_sync_under_either_reading() {
    for waits in [false, true] {
        let sandbox = sandbox_playing(moneyhub_sandbox::world::Readings {
            renewal_waits_for_next_sync: waits,
            ..moneyhub_sandbox::world::Readings::default()
        })
        .await;
        let (_dir, flows, user) = flows_on(&sandbox).await;
        let id = add_at(&flows, &sandbox, &user, MOCK_BANK.into()).await;
        sandbox.advance("91d").await;
        flows.refresh().await.expect("refresh");
        let expired = flows.connection_view(&id).expect("view");
        assert_eq!(expired.health.headline, "Consent expired", "{waits}");
        assert_eq!(
            expired.health.recommended,
            health::Fix::Reconsent,
            "{waits}"
        );

        let url = flows
            .begin(
                Purpose::Reconsent {
                    user_id: user.clone(),
                    connection_id: id.clone(),
                    expires_at: None,
                },
                None,
            )
            .await
            .expect("begin");
        flows
            .complete(&journey(&sandbox, &url).await)
            .await
            .expect("renewed");
        let renewed = flows.connection_view(&id).expect("view");
        assert_ne!(
            renewed.health.recommended,
            health::Fix::ContactSupport,
            "{waits}: {:?}",
            renewed.health
        );
        assert!(!renewed.health.needs_you, "{waits}: {:?}", renewed.health);
        if waits {
            assert_eq!(
                renewed.health.headline,
                "Consent renewed; Moneyhub confirms at its next sync"
            );
        } else {
            assert_eq!(renewed.health.headline, "Up to date");
        }

        sandbox.advance("1d").await;
        flows.refresh().await.expect("refresh");
        let confirmed = flows.connection_view(&id).expect("view");
        assert_eq!(confirmed.health.headline, "Up to date", "{waits}");
    }
}

/// What a running v3 sync's record looks like is not published: absent (404) until it ends,
/// listed without an outcome, or listed with an in-progress `fetchStatus`. Under each, the card
/// keeps saying it syncs while it runs, and once it ends says how, never "Moneyhub did not say
/// how the sync ended".
#[tokio::test]
async fn a_running_sync_is_followed_to_its_end_whatever_its_record_looks_like_meanwhile() {
    use moneyhub_sandbox::world::RunningSyncRecord;
    for record in [
        RunningSyncRecord::WithoutOutcome,
        RunningSyncRecord::Absent,
        RunningSyncRecord::InProgress,
    ] {
        let sandbox = sandbox_playing(moneyhub_sandbox::world::Readings {
            running_sync_record: record,
            ..moneyhub_sandbox::world::Readings::default()
        })
        .await;
        let (_dir, flows, user) = flows_on(&sandbox).await;
        let id = add_at(&flows, &sandbox, &user, MOCK_BANK.into()).await;
        // The sync made on adding is then older than this one, not tied with it.
        sandbox.advance("1m").await;
        let mut events = flows.subscribe();
        flows.sync_now(&id, None).await.expect("sync accepted");

        let running = flows.check_syncs_in_flight().await.expect("check");
        assert_eq!(running, 1, "{record:?}: still running");
        assert!(
            flows
                .connection_view(&id)
                .expect("view")
                .syncing_since
                .is_some(),
            "{record:?}: the card says it syncs"
        );
        let history = flows.sync_history(&id).await.expect("history");
        let listed: Vec<&str> = history.iter().map(|run| run.result.as_str()).collect();
        if record == RunningSyncRecord::Absent {
            assert!(!listed.contains(&"Running…"), "{record:?}: {listed:?}");
        } else {
            assert_eq!(listed.first(), Some(&"Running…"), "{record:?}: {listed:?}");
        }

        sandbox.advance("1m").await;
        assert_eq!(flows.check_syncs_in_flight().await.expect("check"), 0);
        let mut finished = None;
        while let Ok(event) = events.try_recv() {
            if let FlowEvent::SyncFinished { text, failed, .. } = event {
                finished = Some((text, failed));
            }
        }
        let (text, failed) = finished.expect("a finished sync is told");
        assert!(text.starts_with("Synced: "), "{record:?}: {text}");
        assert!(!failed, "{record:?}");
        let history = flows.sync_history(&id).await.expect("history");
        assert_eq!(
            history.first().map(|run| run.result.as_str()),
            Some("Synced"),
            "{record:?}"
        );
    }
}

/// The seed: an AISP may not return consistent account ids on reauth. Whether the bank keeps
/// the account and transaction ids or issues new ones with the connection's new id, a reauth
/// loses nothing and counts nothing twice: the same accounts, each transaction once, and "what
/// changed" lists no account as both added and gone.
#[tokio::test]
async fn a_reauth_that_issues_new_account_and_transaction_ids_keeps_each_record_once() {
    for reauth_renews_ids in [false, true] {
        let sandbox = sandbox_playing(moneyhub_sandbox::world::Readings {
            reauth_renews_ids,
            ..moneyhub_sandbox::world::Readings::default()
        })
        .await;
        let (_dir, flows, user) = flows_on(&sandbox).await;
        let bank = sandbox.bank_id("Sandbox Bank (new id on reauth)").await;
        let first = add_at(&flows, &sandbox, &user, bank).await;
        // Background history arrives, then the person reauthenticates.
        sandbox.advance("1h").await;
        flows.refresh().await.expect("refresh");
        let kept_before = kept_records(&flows, &first);
        let url = flows
            .begin(
                Purpose::Reauth {
                    user_id: user.clone(),
                    connection_id: first.clone(),
                },
                None,
            )
            .await
            .expect("begin");
        let moved = flows
            .complete(&journey(&sandbox, &url).await)
            .await
            .expect("reauth");
        assert_ne!(moved.connection_id, first);
        let (accounts, transactions) = kept_records(&flows, &moved.connection_id);
        assert_eq!(
            accounts, kept_before.0,
            "renews ids: {reauth_renews_ids}: the same accounts, none gone"
        );
        // Each record once: what is kept is exactly what Moneyhub lists now.
        let listed = listed_transactions(&flows, &user).await;
        assert!(
            transactions == listed,
            "renews ids: {reauth_renews_ids}: each transaction once: {} kept, {} listed",
            transactions.len(),
            listed.len()
        );
        assert!(transactions.len() >= kept_before.1.len());
        let changes = moved.changes.expect("the id changed");
        assert!(
            changes.accounts_added.is_empty() && changes.accounts_gone.is_empty(),
            "renews ids: {reauth_renews_ids}: {changes:?}"
        );
        assert!(
            !flows
                .journal()
                .expect("journal")
                .iter()
                .any(|e| matches!(e.event, crate::journal::JournalEvent::AccountsGone { .. })),
            "renews ids: {reauth_renews_ids}: no account went"
        );
    }
}

/// The connection's accounts still shared (by name) and the ids of their kept transactions.
fn kept_records(flows: &Flows, connection: &str) -> (Vec<String>, Vec<String>) {
    let store = flows.store();
    let row = store
        .connection_row("p1", connection)
        .expect("read")
        .expect("the connection");
    let mut names = Vec::new();
    let mut ids = Vec::new();
    for account in row.accounts {
        for t in store
            .transactions("p1", &account.id, 100_000, 0)
            .expect("transactions")
        {
            ids.push(t.id);
        }
        if account.removed_at_source.is_none() {
            names.push(account.name);
        }
    }
    names.sort();
    ids.sort();
    (names, ids)
}

async fn listed_transactions(flows: &Flows, user: &str) -> Vec<String> {
    let mut pages = flows
        .client()
        .transactions(user, moneyhub::api::TransactionQuery::default());
    let mut ids = Vec::new();
    while let Some(page) = pages.next_page().await.expect("a page") {
        ids.extend(page.into_iter().map(|t| t.id));
    }
    ids.sort();
    ids
}

/// A transaction the bank deletes is announced only by webhook (`deletedTransactions`), which
/// a desktop cannot receive: after Moneyhub's next sync the device no longer keeps it, and
/// keeps every other one.
#[tokio::test]
async fn a_transaction_the_bank_deletes_goes_from_the_device_after_moneyhubs_next_sync() {
    let sandbox = sandbox_playing(moneyhub_sandbox::world::Readings::default()).await;
    let (_dir, flows, user) = flows_on(&sandbox).await;
    let id = add_at(&flows, &sandbox, &user, MOCK_BANK.into()).await;
    sandbox.advance("1h").await;
    flows.refresh().await.expect("refresh");
    let now = flows.now();
    let posted_before: Vec<crate::store::StoredTransaction> = {
        let store = flows.store();
        let row = store.connection_row("p1", &id).expect("read").expect("row");
        row.accounts
            .iter()
            .flat_map(|account| {
                store
                    .transactions("p1", &account.id, 100_000, 0)
                    .expect("transactions")
            })
            .filter(|t| !t.pending)
            .collect()
    };
    let deleted = posted_before
        .iter()
        .find(|t| t.booked_at > now - Duration::days(5))
        .expect("a posted transaction of the last days")
        .id
        .clone();
    sandbox
        .admin(
            reqwest::Method::DELETE,
            &format!("/transactions/{deleted}"),
            serde_json::json!({}),
        )
        .await;
    // Moneyhub's schedule syncs the connection; the next refresh follows.
    sandbox.advance("8h").await;
    flows.refresh().await.expect("refresh");
    let (_, after) = kept_records(&flows, &id);
    assert!(!after.contains(&deleted), "the deleted transaction is gone");
    assert!(
        posted_before
            .iter()
            .filter(|t| t.id != deleted)
            .all(|t| after.contains(&t.id)),
        "every other posted one stays (pending ones may post under new ids meanwhile)"
    );
    assert_eq!(after, listed_transactions(&flows, &user).await);
}
