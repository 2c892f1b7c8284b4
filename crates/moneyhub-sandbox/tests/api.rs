//! Tokens, the Data API's envelopes and limits, the admin API, fault injection, and that no
//! malformed input makes the sandbox answer anything but a shaped 4xx.

use moneyhub_sandbox::test_support as harness;

use harness::Sandbox;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MOCK_BANK: &str = "1ffe704d39629a929c8e293880fb449a";

#[tokio::test]
async fn bearer_tokens_are_checked_for_presence_signature_scope_user_and_expiry() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let (status, body) = sandbox.get_json("/v3/accounts", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "Unauthorized");
    assert!(body["correlationId"].is_string());
    let (status, _) = sandbox.get_json("/v3/accounts", "not.a.token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let no_user = sandbox.cc_token("accounts:read", None).await;
    let (status, _) = sandbox.get_json("/v3/accounts", &no_user).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "data needs a token bound to a user"
    );
    let wrong_scope = sandbox.cc_token("transactions:read:all", Some(&user)).await;
    let (status, body) = sandbox.get_json("/v3/accounts", &wrong_scope).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("Forbidden"))
    );

    let (status, token) = sandbox
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "accounts:read"),
            ("sub", &user),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token["expires_in"], 7200);
    let access = token["access_token"].as_str().expect("token");
    assert_eq!(
        sandbox.get_json("/v3/accounts", access).await.0,
        StatusCode::OK
    );
    sandbox.advance("2h").await;
    assert_eq!(
        sandbox.get_json("/v3/accounts", access).await.0,
        StatusCode::UNAUTHORIZED,
        "expired after 7200 s"
    );

    // client_credentials for a user of another client, or with openid, is refused.
    let (status, error) = sandbox
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "accounts:read"),
            ("sub", "000000000000000000000000"),
        ])
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, error) = sandbox
        .token(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    let wrong_secret = sandbox
        .http
        .post(sandbox.url("/oidc/token"))
        .basic_auth("banklinks-demo", Some("wrong"))
        .form(&[("grant_type", "client_credentials"), ("scope", "user:read")])
        .send()
        .await
        .expect("token");
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_secret.json::<Value>().await.expect("json")["error"],
        "invalid_client"
    );
}

#[tokio::test]
async fn offline_access_grants_a_refresh_token_that_works() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let scope = format!("openid offline_access id:{MOCK_BANK}");
    let options = harness::AuthOptions::new(&scope, harness::new_connection_claims(Some(&user)));
    let callback = sandbox
        .walk(sandbox.begin(&options).await, &[], &mut Vec::new())
        .await;
    let (_, tokens) = sandbox
        .exchange(
            callback.get("code").expect("code"),
            options.verifier,
            Some(&user),
        )
        .await;
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh token with offline_access");
    let (status, renewed) = sandbox
        .token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(renewed["access_token"].is_string());
    let (status, _) = sandbox
        .token(&[("grant_type", "refresh_token"), ("refresh_token", "nope")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn transactions_page_with_limits_and_amounts_are_minor_units() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    sandbox.add_connection(&user, MOCK_BANK).await;
    sandbox.advance("3m").await;
    let token = sandbox
        .cc_token(
            "accounts:read transactions:read:all regular_transactions:read",
            Some(&user),
        )
        .await;
    let (status, page) = sandbox
        .get_json("/v3/transactions?limit=1000", &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let total = page["meta"]["total"].as_u64().expect("total") as usize;
    let data = page["data"].as_array().expect("data");
    assert_eq!(data.len(), total.min(1000));
    let first = &data[0];
    assert!(first["amount"]["value"].is_i64());
    assert_eq!(first["amount"]["currency"], "GBP");
    assert!(matches!(
        first["status"].as_str(),
        Some("posted" | "pending")
    ));
    let dates: Vec<&str> = data.iter().filter_map(|t| t["date"].as_str()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let (status, _) = sandbox
        .get_json("/v3/transactions?limit=1001", &token)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = sandbox.get_json("/v3/transactions?limit=ten", &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Following links.next walks every transaction exactly once.
    let mut seen = std::collections::HashSet::new();
    let mut next = Some("/v3/transactions?limit=100".to_string());
    while let Some(path) = next {
        let (_, page) = sandbox.get_json(&path, &token).await;
        for t in page["data"].as_array().expect("data") {
            assert!(
                seen.insert(t["id"].as_str().expect("id").to_string()),
                "duplicate across pages"
            );
        }
        next = page["links"]["next"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), total);

    let (_, regular) = sandbox.get_json("/v3/regular-transactions", &token).await;
    let descriptions: Vec<&str> = regular["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|s| s["description"].as_str())
        .collect();
    assert!(
        descriptions.contains(&"HOMELET RENT") && descriptions.contains(&"NETFLIX.COM"),
        "{descriptions:?}"
    );

    let (_, accounts) = sandbox.get_json("/v3/accounts", &token).await;
    let account = accounts["data"][0]["id"].as_str().expect("account");
    let (status, balances) = sandbox
        .get_json(&format!("/v3/accounts/{account}/balances"), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(balances["data"][0]["amount"]["value"].is_i64());
}

#[tokio::test]
async fn populate_through_the_admin_api_makes_healthy_connections_and_refuses_too_many() {
    let sandbox = Sandbox::start().await;
    let made = sandbox
        .admin(
            Method::POST,
            "/populate",
            json!({ "users": 2, "connectionsPerUser": 3 }),
        )
        .await;
    let users = made["userIds"].as_array().expect("userIds");
    assert_eq!(users.len(), 2);
    for user in users {
        let connections = sandbox.connections(user.as_str().expect("id")).await;
        assert_eq!(connections.len(), 3);
        assert!(
            connections.iter().all(|c| c["status"] == "ok"),
            "{connections:?}"
        );
    }

    let refused = sandbox
        .admin_request(Method::POST, "/populate")
        .json(&json!({ "users": 100, "connectionsPerUser": 100 }))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

/// A local program (or another user) sends the admin API numbers meant to exhaust it: each is
/// refused on its own, whatever the product, and the world's total size is bounded however
/// many calls fill it. Without the bounds `{"users":1e15,"connectionsPerUser":0}` aborted the
/// whole process (the Demo runs inside the app).
#[tokio::test]
async fn hostile_numbers_to_the_admin_api_are_refused_and_the_world_stays_bounded() {
    let sandbox = Sandbox::start().await;
    for body in [
        json!({ "users": 1_000_000_000_000_000_u64, "connectionsPerUser": 0 }),
        json!({ "users": u64::MAX, "connectionsPerUser": 2 }),
        json!({ "users": 0, "connectionsPerUser": u64::MAX }),
        json!({ "users": 1, "connectionsPerUser": 1_000_000 }),
        json!({ "advance": i64::MAX }),
        json!({ "advance": "99999999999999d" }),
        json!({ "advance": -5 }),
        json!({ "to": "9999-12-31T23:59:59Z" }),
    ] {
        let path = if body.get("users").is_some() {
            "/populate"
        } else {
            "/clock"
        };
        let answer = sandbox
            .admin_request(Method::POST, path)
            .json(&body)
            .send()
            .await
            .expect("an answer: the sandbox is still there");
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    for _ in 0..5 {
        sandbox
            .admin(
                Method::POST,
                "/populate",
                json!({ "users": 2000, "connectionsPerUser": 0 }),
            )
            .await;
    }
    let over = sandbox
        .admin_request(Method::POST, "/populate")
        .json(&json!({ "users": 1, "connectionsPerUser": 0 }))
        .send()
        .await
        .expect("answer");
    assert_eq!(over.status(), StatusCode::BAD_REQUEST, "the world is full");
    assert_eq!(
        sandbox.admin(Method::GET, "", Value::Null).await["users"],
        10_000
    );
}

/// A clock file planted in the data folder (or a Demo walked to the end of the calendar) starts
/// a sandbox that answers, and refuses to move further instead of overflowing the date.
#[tokio::test]
async fn a_clock_at_the_end_of_the_calendar_answers_and_goes_no_further() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = || moneyhub_sandbox::SandboxConfig {
        manual_clock_start: Some(harness::start_time()),
        data_dir: Some(dir.path().to_path_buf()),
        ..moneyhub_sandbox::SandboxConfig::default()
    };
    let sandbox = Sandbox::start_with(config()).await;
    let user = sandbox.create_user().await;
    sandbox.add_connection(&user, MOCK_BANK).await;
    let Sandbox { running, .. } = sandbox;
    running.stop().await;
    for planted in ["9999-12-31T23:59:59Z", "+262142-12-31T23:59:59Z"] {
        std::fs::write(
            dir.path().join("sandbox-clock.json"),
            json!({ "version": 1, "clockNow": planted }).to_string(),
        )
        .expect("plant");
        let restarted = Sandbox::start_with(config()).await;
        let now = restarted.admin(Method::GET, "", Value::Null).await["now"].clone();
        // The planted time is taken, up to the calendar's last second the clock allows.
        assert!(
            now.as_str()
                .is_some_and(|n| n.starts_with("9999-12-31T23:59:59")),
            "{now}"
        );
        for advance in [json!("1d"), json!("400d")] {
            let answer = restarted
                .admin_request(Method::POST, "/clock")
                .json(&json!({ "advance": advance }))
                .send()
                .await
                .expect("an answer: the sandbox is still there");
            assert!(
                answer.status() == StatusCode::BAD_REQUEST || answer.status() == StatusCode::OK,
                "{}",
                answer.status()
            );
        }
        assert_eq!(
            restarted.connections(&user).await.len(),
            1,
            "the world is still served"
        );
        let Sandbox { running, .. } = restarted;
        running.stop().await;
    }
}

/// A saved world whose clock was planted decades ahead, with a consent that never ends, would
/// have its catch-up simulate every automatic sync of those decades under the world's lock
/// (the Demo hangs). The restore simulates no more than an admin advance may: 400 days.
#[tokio::test]
async fn a_world_planted_far_behind_its_clock_simulates_no_more_than_one_advance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = || moneyhub_sandbox::SandboxConfig {
        manual_clock_start: Some(harness::start_time()),
        data_dir: Some(dir.path().to_path_buf()),
        ..moneyhub_sandbox::SandboxConfig::default()
    };
    let sandbox = Sandbox::start_with(config()).await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;
    let Sandbox { running, .. } = sandbox;
    running.stop().await;

    let file = dir.path().join("sandbox.json");
    let mut saved: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("saved world")).expect("json");
    for planted in saved["world"]["connections"]
        .as_array_mut()
        .expect("connections")
    {
        planted["expires_at"] = json!("9000-01-01T00:00:00Z");
    }
    std::fs::write(&file, saved.to_string()).expect("plant the world");
    let decades_later = harness::start_time() + chrono::Duration::days(365 * 40);
    std::fs::write(
        dir.path().join("sandbox-clock.json"),
        json!({ "version": 1, "clockNow": decades_later }).to_string(),
    )
    .expect("plant the clock");

    let restarted = Sandbox::start_with(config()).await;
    assert_eq!(
        restarted.connections(&user).await.len(),
        1,
        "the world is served"
    );
    let automatic_syncs = restarted
        .running
        .shared
        .world()
        .syncs
        .iter()
        .filter(|sync| sync.connection_id == connection)
        .count();
    // Moneyhub syncs a few times a day: 400 days hold a few thousand, 40 years about 70,000.
    assert!(
        (100..=400 * 6).contains(&automatic_syncs),
        "{automatic_syncs} syncs simulated"
    );
    let Sandbox { running, .. } = restarted;
    running.stop().await;
}

#[tokio::test]
async fn scenarios_faults_and_the_clock_through_the_admin_api() {
    let sandbox = Sandbox::start().await;
    let scenarios = sandbox.admin(Method::GET, "/scenarios", Value::Null).await;
    assert!(scenarios.as_array().is_some_and(|s| s.len() >= 3));
    let loaded = sandbox
        .admin(Method::POST, "/scenarios/needs-attention", json!({}))
        .await;
    let user = loaded["userId"].as_str().expect("user");
    let connections = sandbox.connections(user).await;
    let errors: Vec<&str> = connections
        .iter()
        .filter_map(|c| c["error"].as_str())
        .collect();
    for expected in ["mfa_required", "credentials_error", "sync_error"] {
        assert!(errors.contains(&expected), "{expected} in {errors:?}");
    }
    assert!(connections.iter().any(|c| c["singleSyncOnly"] == true));

    let expired = sandbox
        .admin(Method::POST, "/scenarios/expired", json!({}))
        .await;
    let expired_connections = sandbox
        .connections(expired["userId"].as_str().expect("user"))
        .await;
    assert!(
        expired_connections
            .iter()
            .all(|c| c["extendedStatus"] == "expired")
    );

    // One injected 429, then normal service.
    sandbox
        .admin(
            Method::PUT,
            "/faults",
            json!([{ "pathPrefix": "/v3/accounts", "status": 429, "times": 1 }]),
        )
        .await;
    let token = sandbox.cc_token("accounts:read", Some(user)).await;
    let limited = sandbox
        .http
        .get(sandbox.url("/v3/accounts"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("accounts");
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        sandbox.get_json("/v3/accounts", &token).await.0,
        StatusCode::OK
    );
    sandbox
        .admin(
            Method::PUT,
            "/faults",
            json!([{ "pathPrefix": "/v3/transactions", "malformed": true }]),
        )
        .await;
    let malformed = sandbox
        .http
        .get(sandbox.url("/v3/transactions"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("transactions");
    assert!(
        malformed.json::<Value>().await.is_err(),
        "the body is not JSON"
    );
    sandbox
        .admin(
            Method::PUT,
            "/faults",
            json!([{ "pathPrefix": "/v3/accounts", "drop": true, "times": 1 }]),
        )
        .await;
    let dropped = sandbox
        .http
        .get(sandbox.url("/v3/accounts"))
        .bearer_auth(&token)
        .send()
        .await;
    let body = match dropped {
        Ok(response) => response.bytes().await.map(|_| ()),
        Err(err) => Err(err),
    };
    assert!(body.is_err(), "the connection breaks mid-response");
    sandbox.admin(Method::DELETE, "/faults", Value::Null).await;

    let state = sandbox.admin(Method::GET, "", Value::Null).await;
    assert_eq!(state["now"], "2026-03-02T09:00:00.000Z");
    let moved = sandbox
        .admin(Method::POST, "/clock", json!({ "advance": "7d" }))
        .await;
    assert_eq!(moved["now"], "2026-03-09T09:00:00.000Z");
    let refused = sandbox
        .admin_request(Method::POST, "/clock")
        .json(&json!({ "to": "2020-01-01T00:00:00Z" }))
        .send()
        .await
        .expect("clock");
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "time does not go back"
    );
    sandbox.admin(Method::POST, "/reset", json!({})).await;
    assert_eq!(
        sandbox.admin(Method::GET, "", Value::Null).await["users"],
        0
    );
}

#[tokio::test]
async fn garbage_input_gets_a_shaped_client_error_never_a_server_error() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let token = sandbox
        .cc_token(
            "accounts:read accounts:write:all transactions:read:all connection:update",
            Some(&user),
        )
        .await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let alphabet: Vec<char> = "abcXYZ019=&%#?/:;.,{}[]\"' +-_~\u{e9}\u{2603}\0"
        .chars()
        .collect();
    let mut garbage = || -> String {
        (0..rng.random_range(0..80))
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect()
    };
    for _ in 0..60 {
        let text = garbage();
        let encoded: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
        let checks = [
            sandbox
                .http
                .get(sandbox.url(&format!("/oidc/auth?{text}")))
                .send()
                .await,
            sandbox
                .http
                .get(sandbox.url(&format!(
                    "/oidc/auth?request={encoded}&client_id=banklinks-demo"
                )))
                .send()
                .await,
            sandbox
                .http
                .post(sandbox.url("/oidc/token"))
                .header("authorization", Sandbox::basic())
                .body(text.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .send()
                .await,
            sandbox
                .http
                .post(sandbox.url("/oidc/request"))
                .header("authorization", Sandbox::basic())
                .body(text.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .send()
                .await,
            sandbox
                .http
                .post(sandbox.url("/v3/sync/x"))
                .bearer_auth(&token)
                .body(text.clone())
                .send()
                .await,
            sandbox
                .http
                .get(sandbox.url(&format!("/v3/transactions?{text}")))
                .bearer_auth(&token)
                .send()
                .await,
            sandbox
                .http
                .patch(sandbox.url(&format!("/users/{user}/connections/x")))
                .bearer_auth(&token)
                .body(text.clone())
                .send()
                .await,
        ];
        for response in checks {
            // A dropped connection is how a handler panic shows: it fails the test too.
            let response =
                response.unwrap_or_else(|err| panic!("no answer for input {text:?}: {err}"));
            let status = response.status();
            assert!(
                !status.is_server_error(),
                "{status} for input {text:?} at {}",
                response.url()
            );
        }
    }
    // Numbers at and past every bound.
    let huge = [
        "18446744073709551615",
        "9223372036854775807",
        "-1",
        "1e309",
        "99999999999999999999999",
    ];
    for number in huge {
        for path in [
            format!("/v3/transactions?offset={number}"),
            format!("/v3/transactions?limit={number}"),
            format!("/v3/transactions?offset={number}&limit=1000"),
            format!("/users?offset={number}"),
        ] {
            let response = sandbox
                .http
                .get(sandbox.url(&path))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap_or_else(|err| panic!("{path}: {err}"));
            assert!(
                response.status().is_client_error() || response.status().is_success(),
                "{} for {path}",
                response.status()
            );
        }
        for advance in [
            json!(format!("{number}d")),
            json!(number),
            json!(format!("{number}w")),
        ] {
            let response = sandbox
                .admin_request(Method::POST, "/clock")
                .json(&json!({ "advance": advance }))
                .send()
                .await
                .expect("clock answers");
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "advance {advance}"
            );
        }
    }
    let far = sandbox
        .admin_request(Method::POST, "/clock")
        .json(&json!({ "to": "9999-01-01T00:00:00Z" }))
        .send()
        .await
        .expect("clock answers");
    assert_eq!(far.status(), StatusCode::BAD_REQUEST);
    let zero = sandbox
        .http
        .get(sandbox.url("/v3/transactions?limit=0"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(
        zero.status(),
        StatusCode::BAD_REQUEST,
        "limit=0 would make links.next loop"
    );
}

#[tokio::test]
async fn a_data_dir_keeps_the_world_clients_and_clock_across_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = || moneyhub_sandbox::SandboxConfig {
        manual_clock_start: Some(harness::start_time()),
        data_dir: Some(dir.path().to_path_buf()),
        ..moneyhub_sandbox::SandboxConfig::default()
    };
    let sandbox = Sandbox::start_with(config()).await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;
    sandbox.advance("1d").await;
    let before = sandbox.connection(&user, &connection).await;
    let token = sandbox.cc_token("transactions:read:all", Some(&user)).await;
    let (_, page) = sandbox.get_json("/v3/transactions?limit=1", &token).await;
    let total = page["meta"]["total"].clone();
    sandbox.admin(Method::POST, "/clients", json!({
        "clientId": "kept-client", "clientSecret": "s3cret", "redirectUris": ["banklinks://callback"],
        "tokenEndpointAuthMethod": "client_secret_basic"
    })).await;
    let Sandbox { running, .. } = sandbox;
    let kept_by_a_late_task = running.shared.clone();
    running.stop().await;
    // A task still holding the stopped sandbox (a slow request, the clock driver) never saves
    // over what the stop saved.
    let saved = dir.path().join("sandbox.json");
    let written = std::fs::read(&saved).expect("saved at stop");
    kept_by_a_late_task
        .clock
        .advance(chrono::Duration::days(1))
        .expect("moved");
    kept_by_a_late_task.world().revision += 1;
    kept_by_a_late_task.save_if_changed();
    assert_eq!(std::fs::read(&saved).expect("still saved"), written);

    let restarted = Sandbox::start_with(config()).await;
    assert_eq!(
        restarted.admin(Method::GET, "", Value::Null).await["now"],
        "2026-03-03T09:00:00.000Z",
        "the clock resumes"
    );
    assert_eq!(
        restarted.connection(&user, &connection).await,
        before,
        "the connection is as it was"
    );
    let token = restarted
        .cc_token("transactions:read:all", Some(&user))
        .await;
    let (_, page) = restarted.get_json("/v3/transactions?limit=1", &token).await;
    assert_eq!(page["meta"]["total"], total);
    let kept = restarted
        .http
        .post(restarted.url("/oidc/token"))
        .basic_auth("kept-client", Some("s3cret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "user:read")])
        .send()
        .await
        .expect("token");
    assert_eq!(kept.status(), StatusCode::OK, "registered clients are kept");
    let Sandbox { running, .. } = restarted;
    running.stop().await;

    // A damaged file is set aside, not deleted, and the sandbox starts afresh.
    std::fs::write(dir.path().join("sandbox.json"), b"{ not json").expect("damage");
    let fresh = Sandbox::start_with(config()).await;
    assert_eq!(fresh.admin(Method::GET, "", Value::Null).await["users"], 0);
    let aside = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().contains("damaged"));
    assert!(aside, "the damaged snapshot was kept aside");
}

/// Any local program (or another user of the machine) can reach the loopback port, but only the
/// one that started the sandbox holds its admin token: without it, or with another, nothing
/// moves. And a rebound DNS name reaches no route at all, not only the admin API.
#[tokio::test]
async fn a_local_program_without_the_token_drives_nothing_and_a_rebound_name_reaches_nothing() {
    let sandbox = Sandbox::start().await;
    let before = sandbox.admin(Method::GET, "", Value::Null).await["now"].clone();
    for token in [None, Some("0".repeat(32)), Some(String::new())] {
        for path in ["/clock", "/reset", "/populate"] {
            let mut request = sandbox
                .http
                .post(sandbox.url(&format!("/__sandbox{path}")))
                .json(&json!({ "advance": "30d", "users": 1, "connectionsPerUser": 1 }));
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            let answer = request.send().await.expect("answer");
            assert_eq!(
                answer.status(),
                StatusCode::UNAUTHORIZED,
                "{path} {token:?}"
            );
        }
    }
    assert_eq!(
        sandbox.admin(Method::GET, "", Value::Null).await["now"],
        before,
        "the clock did not move"
    );
    assert_eq!(
        sandbox.admin(Method::GET, "", Value::Null).await["users"],
        0
    );

    for path in [
        "/oidc/.well-known/openid-configuration",
        "/v3/accounts",
        "/users",
    ] {
        let rebound = sandbox
            .http
            .get(sandbox.url(path))
            .header("host", "attacker.example")
            .send()
            .await
            .expect("answer");
        assert_eq!(rebound.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = sandbox
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "accounts:read"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "its own name still works");
}

/// What a web page open in the person's browser can send: a simple cross-origin POST (no
/// preflight for `text/plain`), or any request under a rebound DNS name. None may drive the
/// admin API, and the built-in Demo client cannot be replaced by anyone.
#[tokio::test]
async fn a_web_page_cannot_drive_the_admin_api_and_the_demo_client_cannot_be_replaced() {
    let sandbox = Sandbox::start().await;
    let before = sandbox.admin(Method::GET, "", Value::Null).await["now"].clone();
    let attempts = [
        ("text/plain", None, None),
        ("application/x-www-form-urlencoded", None, None),
        (
            "application/json",
            Some("http://attacker.example:8080"),
            None,
        ),
        ("application/json", None, Some("attacker.example")),
    ];
    for (content_type, origin, host) in attempts {
        let mut request = sandbox
            .admin_request(Method::POST, "/clock")
            .header("content-type", content_type)
            .body(r#"{"advance": "30d"}"#);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(host) = host {
            request = request.header("host", host);
        }
        let answer = request.send().await.expect("answer");
        assert!(
            matches!(
                answer.status(),
                StatusCode::FORBIDDEN | StatusCode::UNSUPPORTED_MEDIA_TYPE
            ),
            "{content_type} {origin:?} {host:?}: {}",
            answer.status()
        );
    }
    assert_eq!(
        sandbox.admin(Method::GET, "", Value::Null).await["now"],
        before,
        "the clock did not move"
    );

    let replaced = sandbox
        .admin_request(Method::POST, "/clients")
        .json(&json!({
            "clientId": moneyhub_sandbox::clients::DEMO_CLIENT_ID,
            "clientSecret": "attacker", "redirectUris": ["https://attacker.example/cb"],
            "tokenEndpointAuthMethod": "client_secret_basic"
        }))
        .send()
        .await
        .expect("answer");
    assert_eq!(replaced.status(), StatusCode::CONFLICT);
    let (status, _) = sandbox
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "accounts:read"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "the Demo client still works");
}

/// Regular transactions come out of the generated history (salary in, rent and bills out), in
/// the published shape; detection announces new series once, and a month later the moved
/// predictions as updates.
#[tokio::test]
async fn regular_transactions_are_detected_announced_and_updated() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    sandbox.add_connection(&user, MOCK_BANK).await;
    let read = sandbox
        .cc_token(
            "accounts:read transactions:read:all regular_transactions:read",
            Some(&user),
        )
        .await;
    let (_, regular) = sandbox.get_json("/v3/regular-transactions", &read).await;
    let series = regular["data"].as_array().expect("series").clone();
    let salary = series
        .iter()
        .find(|s| s["description"] == "ACME LTD SALARY")
        .expect("the salary");
    assert_eq!(salary["type"], "income");
    assert_eq!(salary["predictedAmount"]["currency"], "GBP");
    assert!(
        salary["predictedAmount"]["value"]
            .as_i64()
            .expect("an amount")
            > 0
    );
    let rent = series
        .iter()
        .find(|s| s["description"] == "HOMELET RENT")
        .expect("the rent");
    assert_eq!(rent["type"], "payment");
    assert!(
        rent["predictedAmount"]["value"]
            .as_i64()
            .expect("an amount")
            < 0
    );
    assert!(
        rent["predictedDateEarliest"].as_str().expect("earliest")
            < rent["predictedDate"].as_str().expect("date")
    );

    let announced = |kind: &'static str, webhooks: &serde_json::Value| -> Vec<String> {
        webhooks
            .as_array()
            .expect("webhooks")
            .iter()
            .filter(|w| w["eventType"] == kind)
            .flat_map(|w| {
                w["payload"]["accounts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .flat_map(|a| {
                a["regularTransactions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let webhooks = sandbox.admin(Method::GET, "/webhooks", Value::Null).await;
    let new = announced("newRegularTransactions", &webhooks);
    assert!(
        new.contains(&rent["seriesId"].as_str().expect("id").to_string()),
        "{new:?}"
    );

    // Detecting again on request announces nothing new; it needs the write scope.
    let account = rent["accountId"].as_str().expect("account");
    let detect = format!("/v3/regular-transactions/{account}/detect");
    let refused = sandbox
        .http
        .post(sandbox.url(&detect))
        .bearer_auth(&read)
        .send()
        .await
        .expect("detect");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // The write scope alone is refused too: the answer carries the series.
    let write_only = sandbox
        .cc_token("regular_transactions:write", Some(&user))
        .await;
    let refused = sandbox
        .http
        .post(sandbox.url(&detect))
        .bearer_auth(&write_only)
        .send()
        .await
        .expect("detect");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let write = sandbox
        .cc_token(
            "regular_transactions:write regular_transactions:read accounts:read transactions:read:all",
            Some(&user),
        )
        .await;
    let answer = sandbox
        .http
        .post(sandbox.url(&detect))
        .bearer_auth(&write)
        .send()
        .await
        .expect("detect");
    assert_eq!(answer.status(), StatusCode::OK);
    let detected: Value = answer.json().await.expect("json");
    let detected = detected["data"].as_array().expect("series");
    assert!(
        detected.iter().all(|s| s["accountId"] == account),
        "{detected:?}"
    );
    assert!(
        detected.iter().any(|s| s["seriesId"] == rent["seriesId"]),
        "{detected:?}"
    );
    let webhooks = sandbox.admin(Method::GET, "/webhooks", Value::Null).await;
    assert_eq!(announced("newRegularTransactions", &webhooks), new);

    // A month on, the next rent has been seen: its prediction moves, announced as an update.
    sandbox.advance("31d").await;
    // Any request brings the bank's days up to date (Moneyhub's own daily fetches); the old
    // token has long expired.
    let read = sandbox
        .cc_token(
            "accounts:read transactions:read:all regular_transactions:read",
            Some(&user),
        )
        .await;
    let (status, _) = sandbox.get_json("/v3/regular-transactions", &read).await;
    assert_eq!(status, StatusCode::OK);
    let webhooks = sandbox.admin(Method::GET, "/webhooks", Value::Null).await;
    assert!(
        announced("updatedRegularTransactions", &webhooks)
            .contains(&rent["seriesId"].as_str().expect("id").to_string())
    );
}
