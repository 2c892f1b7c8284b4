//! The connection lifecycle with a manual clock: reauth (and the id change), reconsent,
//! refresh with MFA, manual sync limits, scheduled syncs, expiry, staleness and deletion.

use moneyhub_sandbox::test_support as harness;

use harness::{AuthOptions, Sandbox, lifecycle_claims};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MOCK_BANK: &str = "1ffe704d39629a929c8e293880fb449a";

async fn run_journey(
    sandbox: &Sandbox,
    scope: &str,
    user: &str,
    connection: &str,
    choose: &[(&str, &str)],
) -> (Vec<String>, String) {
    let options = AuthOptions::new(scope, lifecycle_claims(user, connection));
    let mut visited = Vec::new();
    let callback = sandbox
        .walk(sandbox.begin(&options).await, choose, &mut visited)
        .await;
    let (status, tokens) = sandbox
        .exchange(
            callback.get("code").expect("code"),
            options.verifier,
            Some(user),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = sandbox
        .verify_id_token(tokens["id_token"].as_str().expect("id_token"))
        .await;
    (
        visited,
        claims["mh:con_id"].as_str().expect("mh:con_id").to_string(),
    )
}

/// How many syncs (automatic, manual, first fetch) the connection's history has on a UK date.
async fn syncs_on(sandbox: &Sandbox, user: &str, connection: &str, day: &str) -> usize {
    let token = sandbox.cc_token("connection:read", None).await;
    let (_, syncs) = sandbox
        .get_json(
            &format!("/users/{user}/connections/{connection}/syncs?limit=1000"),
            &token,
        )
        .await;
    syncs["data"]
        .as_array()
        .expect("syncs")
        .iter()
        .filter(|s| {
            s["createdAt"]
                .as_str()
                .is_some_and(|at| at.starts_with(day))
        })
        .count()
}

/// Automatic syncs keep to a provider's daily cap; elsewhere they run every 4 hours from 6am
/// to 11pm (5 a day).
#[tokio::test]
async fn automatic_syncs_keep_to_the_providers_daily_cap() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let triodos = sandbox.bank_id("Triodos Bank").await;
    let capped = sandbox.add_connection(&user, &triodos).await;
    let free = sandbox.add_connection(&user, MOCK_BANK).await;
    sandbox.advance("2d").await;
    assert_eq!(syncs_on(&sandbox, &user, &free, "2026-03-03").await, 5);
    assert_eq!(syncs_on(&sandbox, &user, &capped, "2026-03-03").await, 4);
}

/// v3 syncs in the background: the answer has a `syncId` at once, the run has no outcome
/// until the bank's time has passed, then it has. `enableAsync: false` and v2.0 answer when
/// done. A slow bank takes minutes.
#[tokio::test]
async fn a_v3_sync_returns_a_sync_id_and_completes_later_while_v2_and_enable_async_false_wait() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;
    let before = sandbox.connection(&user, &connection).await["lastSyncedAt"].clone();
    let started: Value = sync(&sandbox, &user, &connection)
        .await
        .json()
        .await
        .expect("json");
    let sync_id = started["data"]["syncId"]
        .as_str()
        .expect("syncId")
        .to_string();
    assert_eq!(started["data"]["status"], "ok");
    let token = sandbox.cc_token("connection:read", None).await;
    let run_path = format!("/users/{user}/syncs/{sync_id}");
    let running = sandbox.get_json(&run_path, &token).await.1["data"].clone();
    assert!(
        running["fetchStatus"].is_null() && running["fetchedAt"].is_null(),
        "{running}"
    );
    assert_eq!(
        sandbox.connection(&user, &connection).await["lastSyncedAt"],
        before,
        "nothing synced yet"
    );
    sandbox.advance("5s").await;
    let done = sandbox.get_json(&run_path, &token).await.1["data"].clone();
    assert_eq!(done["fetchStatus"], "success", "{done}");
    assert_ne!(
        sandbox.connection(&user, &connection).await["lastSyncedAt"],
        before
    );

    for (path, body) in [
        ("/v3/sync", json!({ "enableAsync": false })),
        ("/v2.0/sync", json!({})),
    ] {
        sandbox.advance("31m").await;
        let token = sandbox
            .cc_token("accounts:read accounts:write:all", Some(&user))
            .await;
        let answer: Value = sandbox
            .http
            .post(sandbox.url(&format!("{path}/{connection}")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("sync")
            .json()
            .await
            .expect("json");
        let id = answer["data"]["syncId"].as_str().expect("syncId");
        let read = sandbox.cc_token("connection:read", None).await;
        let (_, finished) = sandbox
            .get_json(&format!("/users/{user}/syncs/{id}"), &read)
            .await;
        assert_eq!(
            finished["data"]["fetchStatus"], "success",
            "{path}: {finished}"
        );
    }

    let slow_bank = sandbox.bank_id("Sandbox Bank (slow syncs)").await;
    let slow = sandbox.add_connection(&user, &slow_bank).await;
    let started: Value = sync(&sandbox, &user, &slow)
        .await
        .json()
        .await
        .expect("json");
    let id = started["data"]["syncId"].as_str().expect("syncId");
    sandbox.advance("2m").await;
    let (_, still) = sandbox
        .get_json(&format!("/users/{user}/syncs/{id}"), &token)
        .await;
    assert!(
        still["data"]["fetchStatus"].is_null(),
        "a slow bank takes minutes"
    );
    sandbox.advance("2m").await;
    let (_, done) = sandbox
        .get_json(&format!("/users/{user}/syncs/{id}"), &token)
        .await;
    assert_eq!(done["data"]["fetchStatus"], "success");
}

async fn sync(sandbox: &Sandbox, user: &str, connection: &str) -> reqwest::Response {
    let token = sandbox
        .cc_token("accounts:read accounts:write:all", Some(user))
        .await;
    sandbox
        .http
        .post(sandbox.url(&format!("/v3/sync/{connection}")))
        .bearer_auth(token)
        .json(&json!({ "customerIpAddress": "203.0.113.7" }))
        .send()
        .await
        .expect("sync")
}

#[tokio::test]
async fn reauth_keeps_the_id_for_the_same_accounts_and_changes_it_for_a_different_selection() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;

    let (visited, same) = run_journey(&sandbox, "openid reauth", &user, &connection, &[]).await;
    assert_eq!(visited, ["login", "accounts", "consent"]);
    assert_eq!(same, connection, "same accounts, same id");

    // Share only the first account this time: Moneyhub gives the connection a new id.
    let options = AuthOptions::new("openid reauth", lifecycle_claims(&user, &connection));
    let response = sandbox.begin(&options).await;
    let page = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    for step in [
        vec![("step", "login"), ("username", "u"), ("password", "p")],
        vec![("step", "accounts"), ("account", "0")],
        vec![("step", "consent")],
    ] {
        let mut form = step;
        form.push(("action", "continue"));
        let response = sandbox
            .http
            .post(sandbox.url(&page))
            .form(&form)
            .send()
            .await
            .expect("submit");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        if location.starts_with("banklinks://") {
            let callback = harness::parse_callback(&location);
            let (status, tokens) = sandbox
                .exchange(
                    callback.get("code").expect("code"),
                    options.verifier,
                    Some(&user),
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            let claims = sandbox
                .verify_id_token(tokens["id_token"].as_str().expect("id_token"))
                .await;
            let new_id = claims["mh:con_id"].as_str().expect("id").to_string();
            assert_ne!(new_id, connection, "a different selection gives a new id");
            assert!(new_id.starts_with(MOCK_BANK));
            let connections = sandbox.connections(&user).await;
            assert_eq!(connections.len(), 1, "the old id is gone");
            assert_eq!(
                connections[0]["accountIds"].as_array().map(Vec::len),
                Some(1)
            );
            return;
        }
    }
    panic!("the reauth journey did not finish");
}

#[tokio::test]
async fn the_scripted_bank_changes_the_id_on_every_reauth() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let bank = sandbox.bank_id("Sandbox Bank (new id on reauth)").await;
    let connection = sandbox.add_connection(&user, &bank).await;
    let (_, after) = run_journey(&sandbox, "openid reauth", &user, &connection, &[]).await;
    assert_ne!(after, connection);
}

#[tokio::test]
async fn consent_expires_after_90_days_and_reconsent_renews_it_without_a_bank_step() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;
    let before = sandbox.connection(&user, &connection).await;
    let expires: chrono::DateTime<chrono::Utc> = before["expiresAt"]
        .as_str()
        .expect("expiresAt")
        .parse()
        .expect("date");
    assert_eq!(expires - harness::start_time(), chrono::Duration::days(90));

    sandbox.advance("91d").await;
    let expired = sandbox.connection(&user, &connection).await;
    assert_eq!(expired["status"], "error");
    assert_eq!(expired["error"], "sync_error");
    assert_eq!(expired["extendedStatus"], "expired");
    let last_updated = expired["lastUpdated"].clone();
    let updated: chrono::DateTime<chrono::Utc> = last_updated
        .as_str()
        .expect("lastUpdated")
        .parse()
        .expect("date");
    assert!(
        updated > harness::start_time() + chrono::Duration::days(89),
        "syncs ran until the consent ended ({updated})"
    );
    // The data stays frozen and manual sync is refused with 403.
    assert_eq!(
        sync(&sandbox, &user, &connection).await.status(),
        StatusCode::FORBIDDEN
    );

    let (visited, id) = run_journey(&sandbox, "openid reconsent", &user, &connection, &[]).await;
    assert_eq!(
        visited,
        ["consent"],
        "reconsent goes straight back without the bank"
    );
    assert_eq!(id, connection);
    let renewed = sandbox.connection(&user, &connection).await;
    assert_eq!(renewed["status"], "ok");
    assert!(renewed["extendedStatus"].is_null());
    assert_ne!(renewed["lastUpdated"], last_updated);
    let expires: chrono::DateTime<chrono::Utc> = renewed["expiresAt"]
        .as_str()
        .expect("expiresAt")
        .parse()
        .expect("date");
    assert!(expires > sandbox.running.shared.now() + chrono::Duration::days(89));
}

#[tokio::test]
async fn reconsent_honours_a_requested_expiry_and_is_refused_without_tpp_consent() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;
    let until = (harness::start_time() + chrono::Duration::days(30)).to_rfc3339();
    let mut claims = lifecycle_claims(&user, &connection);
    claims["id_token"]["mh:consent"] = json!({ "value": { "expirationDateTime": until } });
    let options = AuthOptions::new("openid reconsent", claims.clone());
    let callback = sandbox
        .walk(sandbox.begin(&options).await, &[], &mut Vec::new())
        .await;
    assert!(callback.get("code").is_some());
    let renewed = sandbox.connection(&user, &connection).await;
    let expires: chrono::DateTime<chrono::Utc> = renewed["expiresAt"]
        .as_str()
        .expect("expiresAt")
        .parse()
        .expect("date");
    assert_eq!(expires, harness::start_time() + chrono::Duration::days(30));

    // More than 90 days is refused.
    claims["id_token"]["mh:consent"] = json!({ "value": { "expirationDateTime": (harness::start_time() + chrono::Duration::days(120)).to_rfc3339() } });
    let response = sandbox
        .begin(&AuthOptions {
            style: harness::Style::Plain,
            ..AuthOptions::new("openid reconsent", claims)
        })
        .await;
    let callback =
        harness::parse_callback(response.headers()["location"].to_str().expect("location"));
    assert_eq!(callback.get("error"), Some("invalid_request"));

    // A legacy connection has no tppConsent.
    let aviva = sandbox.bank_id("Aviva").await;
    let legacy = sandbox.add_connection(&user, &aviva).await;
    assert_eq!(
        sandbox.connection(&user, &legacy).await["tppConsent"],
        false
    );
    let response = sandbox
        .begin(&AuthOptions {
            style: harness::Style::Plain,
            ..AuthOptions::new("openid reconsent", lifecycle_claims(&user, &legacy))
        })
        .await;
    let callback =
        harness::parse_callback(response.headers()["location"].to_str().expect("location"));
    assert_eq!(callback.get("error"), Some("invalid_request"));
}

#[tokio::test]
async fn a_legacy_bank_needing_mfa_is_fixed_by_a_refresh_with_a_security_question() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let bank = sandbox.bank_id("Hargreaves Lansdown").await;
    let connection = sandbox.add_connection(&user, &bank).await;
    assert_eq!(sandbox.connection(&user, &connection).await["useMfa"], true);
    // Legacy connections sync overnight (02:00 UK); that sync needs MFA.
    sandbox.advance("1d").await;
    let stuck = sandbox.connection(&user, &connection).await;
    assert_eq!(
        (stuck["status"].as_str(), stuck["error"].as_str()),
        (Some("error"), Some("mfa_required"))
    );
    assert_ne!(
        stuck["lastSyncedAt"], stuck["lastUpdated"],
        "an attempt moves lastSyncedAt only"
    );

    let (visited, id) = run_journey(&sandbox, "openid refresh", &user, &connection, &[]).await;
    assert_eq!(visited, ["security", "consent"]);
    assert_eq!(id, connection);
    let fixed = sandbox.connection(&user, &connection).await;
    assert_eq!(fixed["status"], "ok");
    assert_eq!(fixed["lastSyncedAt"], fixed["lastUpdated"]);
}

#[tokio::test]
async fn manual_sync_is_limited_per_connection_and_by_provider_caps() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;

    let first = sync(&sandbox, &user, &connection).await;
    assert_eq!(first.status(), StatusCode::OK);
    let body: Value = first.json().await.expect("json");
    assert_eq!(body["data"]["status"], "ok");
    assert!(
        body["data"]["syncId"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
    );

    sandbox.advance("10m").await;
    let limited = sync(&sandbox, &user, &connection).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "1200");
    let body: Value = limited.json().await.expect("json");
    assert_eq!(
        (body["code"].as_str(), body["retryAfterSecs"].as_u64()),
        (Some("TooManyRequests"), Some(1200))
    );

    sandbox.advance("20m").await;
    assert_eq!(
        sync(&sandbox, &user, &connection).await.status(),
        StatusCode::OK,
        "allowed again after 30 minutes"
    );

    // The sync history records client updates.
    let token = sandbox.cc_token("connection:read", None).await;
    let (_, syncs) = sandbox
        .get_json(
            &format!("/users/{user}/connections/{connection}/syncs"),
            &token,
        )
        .await;
    let client_updates = syncs["data"]
        .as_array()
        .expect("syncs")
        .iter()
        .filter(|s| s["action"] == "client-update" && s["method"] == "UPDATE")
        .count();
    assert_eq!(client_updates, 2);

    // A Triodos-like bank allows 4 a day, and the connection's first fetch and the automatic
    // syncs of the day count too.
    let triodos = sandbox.bank_id("Triodos Bank").await;
    let capped = sandbox.add_connection(&user, &triodos).await;
    let mut manual = 0;
    let over = loop {
        let answer = sync(&sandbox, &user, &capped).await;
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            break answer;
        }
        assert_eq!(answer.status(), StatusCode::OK);
        manual += 1;
        assert!(manual <= 4, "more than 4 syncs in a day");
        sandbox.advance("31m").await;
    };
    assert!(manual < 4, "the first fetch counts: {manual} manual syncs");
    let today = syncs_on(&sandbox, &user, &capped, "2026-03-02").await;
    assert_eq!(today, 4, "4 syncs of every kind on the day");
    let retry: i64 = over.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!(
        retry > 1800,
        "the cap lasts until UK midnight, not 30 minutes ({retry})"
    );

    // A bank that is down answers 502 ExternalProvider.
    let danske = sandbox.bank_id("Danske Bank").await;
    let down = sandbox.add_connection(&user, &danske).await;
    let failed = sync(&sandbox, &user, &down).await;
    assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        failed.json::<Value>().await.expect("json")["code"],
        "ExternalProvider"
    );

    // Bad bodies are 400s.
    let token = sandbox
        .cc_token("accounts:read accounts:write:all", Some(&user))
        .await;
    for body in [
        json!({ "customerIpAddress": "not-an-ip" }),
        json!({ "unexpected": true }),
    ] {
        let response = sandbox
            .http
            .post(sandbox.url(&format!("/v3/sync/{connection}")))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("sync");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let wrong_scope = sandbox.cc_token("accounts:read", Some(&user)).await;
    let response = sandbox
        .http
        .post(sandbox.url(&format!("/v3/sync/{connection}")))
        .bearer_auth(&wrong_scope)
        .send()
        .await
        .expect("sync");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn scheduled_syncs_history_arrival_staleness_and_stopped_syncing_follow_the_clock() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;
    let token = sandbox
        .cc_token("accounts:read transactions:read:all", Some(&user))
        .await;
    let (_, first) = sandbox.get_json("/v3/transactions?limit=1", &token).await;
    let initial = first["meta"]["total"].as_u64().expect("total");

    // The rest of the history arrives a couple of minutes later.
    sandbox.advance("3m").await;
    let (_, later) = sandbox.get_json("/v3/transactions?limit=1", &token).await;
    assert!(
        later["meta"]["total"].as_u64().expect("total") > initial * 2,
        "background history arrived"
    );

    // 09:00 on a Monday: the next api sync is at 10:00 UK time.
    let before = sandbox.connection(&user, &connection).await;
    sandbox.advance("58m").await;
    let after = sandbox.connection(&user, &connection).await;
    assert_ne!(before["lastSyncedAt"], after["lastSyncedAt"]);
    assert!(
        after["lastSyncedAt"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-03-02T10:00:00")),
        "{after}"
    );

    // A bank that is down: syncs fail, lastUpdated stops, resync is not shown over sync_error,
    // and after 3 days of failures Moneyhub stops syncing.
    let danske = sandbox.bank_id("Danske Bank").await;
    let down = sandbox.add_connection(&user, &danske).await;
    sandbox.advance("1d").await;
    let failing = sandbox.connection(&user, &down).await;
    assert_eq!(failing["error"], "sync_error");
    assert!(failing["extendedStatus"].is_null());
    sandbox.advance("3d").await;
    let stopped = sandbox.connection(&user, &down).await;
    assert_eq!(stopped["extendedStatus"], "stoppedSyncing");

    // Forcing lastUpdated back (admin) shows the resync rule: > 2 days for cash accounts.
    let healthy = sandbox.connection(&user, &connection).await;
    assert_eq!(healthy["status"], "ok");
    let three_days_ago = (sandbox.running.shared.now() - chrono::Duration::days(3)).to_rfc3339();
    let forced = sandbox
        .admin(
            Method::PATCH,
            &format!("/connections/{connection}"),
            json!({ "lastUpdated": three_days_ago }),
        )
        .await;
    assert_eq!(forced["data"]["error"], "resync");
}

#[tokio::test]
async fn valuations_are_stale_only_after_40_days() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let zoopla = sandbox.bank_id("Zoopla").await;
    let connection = sandbox.add_connection(&user, &zoopla).await;
    let ten_days_ago = (sandbox.running.shared.now() - chrono::Duration::days(10)).to_rfc3339();
    let forced = sandbox
        .admin(
            Method::PATCH,
            &format!("/connections/{connection}"),
            json!({ "lastUpdated": ten_days_ago }),
        )
        .await;
    assert_eq!(
        forced["data"]["status"], "ok",
        "10 days is fine for a property valuation"
    );
    let fifty_days_ago = (sandbox.running.shared.now() - chrono::Duration::days(50)).to_rfc3339();
    let forced = sandbox
        .admin(
            Method::PATCH,
            &format!("/connections/{connection}"),
            json!({ "lastUpdated": fifty_days_ago }),
        )
        .await;
    assert_eq!(forced["data"]["error"], "resync");
}

#[tokio::test]
async fn deleting_a_connection_or_a_user_removes_their_data() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let first = sandbox.add_connection(&user, MOCK_BANK).await;
    let second = sandbox.add_connection(&user, MOCK_BANK).await;
    let data = sandbox
        .cc_token("accounts:read transactions:read:all", Some(&user))
        .await;
    let (_, accounts) = sandbox
        .get_json(&format!("/v3/accounts?connectionId={first}"), &data)
        .await;
    let account = accounts["data"][0]["id"]
        .as_str()
        .expect("account")
        .to_string();

    let delete = sandbox.cc_token("connection:delete", None).await;
    let response = sandbox
        .http
        .delete(sandbox.url(&format!("/users/{user}/connection/{first}")))
        .bearer_auth(&delete)
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = sandbox
        .get_json(&format!("/v3/accounts/{account}"), &data)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "its accounts are gone");
    let (_, transactions) = sandbox
        .get_json(&format!("/v3/transactions?accountId={account}"), &data)
        .await;
    assert_eq!(transactions["meta"]["total"], 0);

    // The documented plural path works too; a second delete is a 404.
    let response = sandbox
        .http
        .delete(sandbox.url(&format!("/users/{user}/connections/{second}")))
        .bearer_auth(&delete)
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = sandbox
        .http
        .delete(sandbox.url(&format!("/users/{user}/connections/{second}")))
        .bearer_auth(&delete)
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let delete_user = sandbox.cc_token("user:delete user:read", None).await;
    let response = sandbox
        .http
        .delete(sandbox.url(&format!("/users/{user}")))
        .bearer_auth(&delete_user)
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = sandbox
        .get_json(&format!("/users/{user}"), &delete_user)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_credentials_error_is_fixed_by_a_reauth_and_stays_fixed() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let bank = sandbox.bank_id("Scottish Widows").await;
    let connection = sandbox.add_connection(&user, &bank).await;
    sandbox.advance("1d").await;
    assert_eq!(
        sandbox.connection(&user, &connection).await["error"],
        "credentials_error"
    );
    let (_, id) = run_journey(&sandbox, "openid reauth", &user, &connection, &[]).await;
    assert_eq!(id, connection);
    assert_eq!(sandbox.connection(&user, &connection).await["status"], "ok");
    sandbox.advance("1d").await;
    let later = sandbox.connection(&user, &connection).await;
    assert_eq!(later["status"], "ok", "{later}");
}

#[tokio::test]
async fn webhooks_announce_syncs_new_transactions_and_reminders() {
    use std::sync::{Arc, Mutex};
    // A receiver on loopback that records what it is sent.
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(event): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("lock").push(event);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let sandbox = Sandbox::start_with(moneyhub_sandbox::SandboxConfig {
        manual_clock_start: Some(harness::start_time()),
        webhook_url: Some(hook),
        ..moneyhub_sandbox::SandboxConfig::default()
    })
    .await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;
    assert_eq!(
        sync(&sandbox, &user, &connection).await.status(),
        StatusCode::OK
    );
    // 85 days on: the 5-day reauth reminder has fired.
    sandbox.advance("85d").await;
    sandbox.connections(&user).await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events = received.lock().expect("lock").clone();
        let types: Vec<&str> = events
            .iter()
            .filter_map(|e| e["eventType"].as_str())
            .collect();
        if types.contains(&"reauthReminder") {
            let sync_done = events
                .iter()
                .find(|e| e["eventType"] == "syncCompleted")
                .expect("syncCompleted");
            assert_eq!(sync_done["userId"], user.as_str());
            assert_eq!(sync_done["payload"]["connectionId"], connection.as_str());
            assert_eq!(sync_done["payload"]["processingStatus"], "success");
            assert!(types.contains(&"newTransactions"));
            let reminder = events
                .iter()
                .find(|e| e["eventType"] == "reauthReminder")
                .expect("reminder");
            assert_eq!(reminder["payload"]["timeUntilReauthorizationInDays"], 5);
            assert_eq!(reminder["payload"]["tppConsent"], true);
            assert!(events.iter().all(|e| e["id"].is_string()));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reauthReminder among {types:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let recent = sandbox.admin(Method::GET, "/webhooks", Value::Null).await;
    assert!(recent.as_array().is_some_and(|events| !events.is_empty()));
}

#[tokio::test]
async fn a_single_sync_connection_goes_stale_into_resync_and_a_refresh_brings_it_back() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let bank = sandbox.bank_id("Vanguard Investor").await;
    let connection = sandbox.add_connection(&user, &bank).await;
    assert_eq!(
        sandbox.connection(&user, &connection).await["singleSyncOnly"],
        true
    );
    sandbox.advance("2d").await;
    assert_eq!(
        sandbox.connection(&user, &connection).await["status"],
        "ok",
        "2 days is not yet stale"
    );
    sandbox.advance("1d").await;
    let stale = sandbox.connection(&user, &connection).await;
    assert_eq!(
        (stale["status"].as_str(), stale["error"].as_str()),
        (Some("error"), Some("resync")),
        "{stale}"
    );
    let (visited, _) = run_journey(&sandbox, "openid refresh", &user, &connection, &[]).await;
    assert_eq!(visited, ["security", "consent"]);
    assert_eq!(sandbox.connection(&user, &connection).await["status"], "ok");
}

#[tokio::test]
async fn pending_transactions_post_later_some_under_a_new_id() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    sandbox.add_connection(&user, MOCK_BANK).await;
    let token = sandbox.cc_token("transactions:read:all", Some(&user)).await;
    let (_, page) = sandbox
        .get_json("/v3/transactions?limit=1000", &token)
        .await;
    let pending: Vec<String> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|t| t["status"] == "pending")
        .filter_map(|t| t["id"].as_str().map(str::to_string))
        .collect();
    assert!(pending.len() >= 4, "the last two days are pending");
    sandbox.advance("3d").await;
    let token = sandbox.cc_token("transactions:read:all", Some(&user)).await;
    let (mut kept, mut reissued) = (0, 0);
    for id in &pending {
        let (status, transaction) = sandbox
            .get_json(&format!("/v3/transactions/{id}"), &token)
            .await;
        match status {
            StatusCode::OK => {
                assert_eq!(
                    transaction["data"]["status"], "posted",
                    "{id} still pending"
                );
                kept += 1;
            }
            StatusCode::NOT_FOUND => reissued += 1,
            other => panic!("{id}: {other}"),
        }
    }
    assert!(kept > 0 && reissued > 0, "kept {kept}, reissued {reissued}");
    let webhooks = sandbox.admin(Method::GET, "/webhooks", Value::Null).await;
    assert!(
        webhooks
            .as_array()
            .expect("webhooks")
            .iter()
            .any(|w| w["eventType"] == "deletedTransactions")
    );
}

/// Runs a journey posting exactly `accounts` on the account step.
async fn journey_with_accounts(
    sandbox: &Sandbox,
    options: &AuthOptions<'_>,
    accounts: &[&str],
) -> harness::Callback {
    let response = sandbox.begin(options).await;
    let page = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    for _ in 0..6 {
        let html = sandbox
            .http
            .get(sandbox.url(&page))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        let form = harness::post_form(&html).expect("form");
        let mut fields: Vec<(String, String)> = form
            .fields
            .into_iter()
            .filter(|(n, _)| n != "account")
            .collect();
        if form.step == "accounts" {
            fields.extend(
                accounts
                    .iter()
                    .map(|a| ("account".to_string(), (*a).to_string())),
            );
        }
        fields.push(("action".into(), "continue".into()));
        let response = sandbox
            .http
            .post(sandbox.url(&page))
            .form(&fields)
            .send()
            .await
            .expect("submit");
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        if location.starts_with("banklinks://") {
            return harness::parse_callback(&location);
        }
    }
    panic!("the journey did not end");
}

#[tokio::test]
async fn balances_do_not_jump_when_history_arrives_and_accounts_added_by_reauth_get_history() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let scope = format!("openid id:{MOCK_BANK}");
    let options = AuthOptions::new(&scope, harness::new_connection_claims(Some(&user)));
    let callback = journey_with_accounts(&sandbox, &options, &["0"]).await;
    let (_, tokens) = sandbox
        .exchange(
            callback.get("code").expect("code"),
            options.verifier,
            Some(&user),
        )
        .await;
    let connection = sandbox
        .verify_id_token(tokens["id_token"].as_str().expect("id_token"))
        .await["mh:con_id"]
        .as_str()
        .expect("id")
        .to_string();
    let token = sandbox
        .cc_token("accounts:read transactions:read:all", Some(&user))
        .await;
    let (_, before) = sandbox.get_json("/v3/accounts", &token).await;
    assert_eq!(before["data"].as_array().map(Vec::len), Some(1));
    sandbox.advance("3m").await;
    let (_, after) = sandbox.get_json("/v3/accounts", &token).await;
    assert_eq!(
        before["data"][0]["balance"], after["data"][0]["balance"],
        "the balance is the bank's, not the sum of what has arrived"
    );

    // Reauth sharing both accounts: the new one comes with the connection's history.
    let options = AuthOptions::new("openid reauth", lifecycle_claims(&user, &connection));
    let callback = journey_with_accounts(&sandbox, &options, &["0", "1"]).await;
    assert!(callback.get("code").is_some());
    let (_, accounts) = sandbox.get_json("/v3/accounts", &token).await;
    let accounts = accounts["data"].as_array().expect("accounts").clone();
    assert_eq!(accounts.len(), 2);
    for account in &accounts {
        let earliest = account["transactionData"]["earliestDate"]
            .as_str()
            .expect("earliest date");
        assert!(
            earliest < "2025-05-01",
            "{} has history back to {earliest}",
            account["accountName"]
        );
    }
}

/// Data disappears at the source as it does at Moneyhub: pending transactions that post under
/// new ids, an account closed at the bank, a connection deleted elsewhere, a deleted user.
#[tokio::test]
async fn data_disappears_at_the_source() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;
    let other = sandbox.add_connection(&user, MOCK_BANK).await;
    let token = sandbox
        .cc_token("transactions:read:all accounts:read", Some(&user))
        .await;
    let pending_ids = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter(|t| t["status"] == "pending")
            .filter_map(|t| t["id"].as_str().map(str::to_string))
            .collect()
    };
    let (_, before) = sandbox
        .get_json("/v3/transactions?limit=1000", &token)
        .await;
    let pending = pending_ids(&before);
    assert!(!pending.is_empty(), "the last two days are pending");

    // Posted under new ids: the pending ids are gone, nothing is listed twice.
    let reissued = sandbox
        .admin(
            Method::POST,
            &format!("/connections/{connection}/post-pending"),
            json!({}),
        )
        .await;
    assert!(!reissued["reissued"].as_array().expect("ids").is_empty());
    let (_, after) = sandbox
        .get_json("/v3/transactions?limit=1000", &token)
        .await;
    let ids: Vec<&str> = after["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    let unique: std::collections::HashSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a transaction is listed twice");
    let still_pending = pending_ids(&after);
    for id in &pending {
        assert!(
            !ids.contains(&id.as_str()) || still_pending.contains(id),
            "{id} was reissued yet still listed"
        );
    }
    assert_eq!(ids.len(), before["data"].as_array().expect("data").len());
    let webhooks = sandbox.admin(Method::GET, "/webhooks", Value::Null).await;
    assert!(
        webhooks
            .as_array()
            .expect("webhooks")
            .iter()
            .any(|w| w["eventType"] == "deletedTransactions")
    );

    // An account closed at the bank leaves its connection.
    let (_, accounts) = sandbox.get_json("/v3/accounts", &token).await;
    let account = accounts["data"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["connectionId"] == connection.as_str())
        .and_then(|a| a["id"].as_str())
        .expect("an account")
        .to_string();
    sandbox
        .admin(
            Method::POST,
            &format!("/accounts/{account}/close"),
            json!({}),
        )
        .await;
    let (_, accounts) = sandbox.get_json("/v3/accounts", &token).await;
    assert!(
        accounts["data"]
            .as_array()
            .expect("accounts")
            .iter()
            .all(|a| a["id"] != account.as_str())
    );

    // A connection deleted elsewhere is no longer listed.
    sandbox
        .admin(
            Method::POST,
            &format!("/connections/{other}/remove-elsewhere"),
            json!({}),
        )
        .await;
    let listed = sandbox.connections(&user).await;
    assert!(listed.iter().all(|c| c["id"] != other.as_str()));
    assert!(listed.iter().any(|c| c["id"] == connection.as_str()));

    // A deleted user answers 404.
    sandbox
        .admin(Method::DELETE, &format!("/users/{user}"), Value::Null)
        .await;
    let read = sandbox.cc_token("connection:read", None).await;
    let (status, _) = sandbox
        .get_json(&format!("/users/{user}/connections"), &read)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
