//! Property-based fuzzing of the sandbox's parsers through its real routes, in-process: PAR
//! bodies, token forms (with client assertions), authorization query strings, request objects
//! and journey forms. Whatever arrives, the answer is a shaped 2xx–4xx, never a 5xx or a
//! panic, because the sandbox is the oracle the app is tested against.
//!
//! `BANKLINKS_FUZZ_CASES` sets the cases per target (CI a few thousand, `scripts/attack`
//! 100,000).

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use moneyhub_sandbox::clients::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI};
use moneyhub_sandbox::test_support as harness;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tower::ServiceExt;

fn cases() -> u32 {
    harness::count_from_env("BANKLINKS_FUZZ_CASES", 2_000)
}

/// A JWT's shape with hostile contents: any header (alg none, unknown kid, wrong typ), claims
/// that are almost right, any signature.
fn jwt_like() -> impl Strategy<Value = String> {
    let alg = prop_oneof![
        Just("none"),
        Just("RS256"),
        Just("PS256"),
        Just("HS256"),
        Just("ES256")
    ];
    let typ = prop_oneof![Just("JWT"), Just("oauth-authz-req+jwt"), Just("")];
    let claim_value = prop_oneof![
        Just(serde_json::json!(DEMO_CLIENT_ID)),
        Just(serde_json::json!(DEMO_REDIRECT_URI)),
        Just(serde_json::json!(
            "openid id:1ffe704d39629a929c8e293880fb449a"
        )),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        "\\PC{0,40}".prop_map(serde_json::Value::String),
        Just(serde_json::json!({"id_token": {"mh:con_id": {"essential": true}}})),
        Just(serde_json::Value::Null),
    ];
    let claim_name = prop_oneof![
        Just("iss"),
        Just("aud"),
        Just("sub"),
        Just("exp"),
        Just("iat"),
        Just("jti"),
        Just("client_id"),
        Just("scope"),
        Just("redirect_uri"),
        Just("response_type"),
        Just("state"),
        Just("nonce"),
        Just("claims"),
        Just("code_challenge"),
        Just("prompt"),
    ];
    (
        alg,
        typ,
        "[a-z0-9-]{0,12}",
        prop::collection::btree_map(claim_name, claim_value, 0..10),
        prop::collection::vec(any::<u8>(), 0..80),
        any::<u8>(),
    )
        .prop_map(|(alg, typ, kid, claims, signature, garble)| {
            let header = serde_json::json!({ "alg": alg, "typ": typ, "kid": kid });
            let claims: serde_json::Map<String, serde_json::Value> = claims
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect();
            let token = format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(serde_json::Value::Object(claims).to_string()),
                URL_SAFE_NO_PAD.encode(signature)
            );
            match garble % 6 {
                0 => token.replacen('.', "", 1),
                1 => format!("{token}.extra"),
                _ => token,
            }
        })
}

/// Form or query fields: the OAuth names the sandbox reads, with hostile values.
fn fields() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("client_id".to_string()),
        Just("response_type".to_string()),
        Just("scope".to_string()),
        Just("redirect_uri".to_string()),
        Just("state".to_string()),
        Just("nonce".to_string()),
        Just("claims".to_string()),
        Just("prompt".to_string()),
        Just("code_challenge".to_string()),
        Just("code_challenge_method".to_string()),
        Just("request".to_string()),
        Just("request_uri".to_string()),
        Just("grant_type".to_string()),
        Just("code".to_string()),
        Just("code_verifier".to_string()),
        Just("refresh_token".to_string()),
        Just("sub".to_string()),
        Just("client_assertion".to_string()),
        Just("client_assertion_type".to_string()),
        Just("step".to_string()),
        Just("action".to_string()),
        "[a-z_]{0,10}",
    ];
    let value = prop_oneof![
        Just(DEMO_CLIENT_ID.to_string()),
        Just(DEMO_REDIRECT_URI.to_string()),
        Just("code".to_string()),
        Just("code id_token".to_string()),
        Just("openid id:1ffe704d39629a929c8e293880fb449a offline_access".to_string()),
        Just("client_credentials".to_string()),
        Just("authorization_code".to_string()),
        Just("urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string()),
        Just("S256".to_string()),
        Just("consent".to_string()),
        Just("{\"id_token\":{\"mh:con_id\":{\"essential\":true}}}".to_string()),
        jwt_like(),
        "\\PC{0,80}",
    ];
    prop::collection::vec((name, value), 0..10)
}

fn encode(fields: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

#[derive(Debug, Clone, Copy)]
enum Target {
    PushedRequest,
    Token,
    Authorize,
    Interaction,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::PushedRequest => "PAR bodies and request objects (sandbox)",
            Target::Token => "token forms and client assertions (sandbox)",
            Target::Authorize => "authorization query strings (sandbox)",
            Target::Interaction => "journey forms (sandbox)",
        }
    }
}

fn fuzz(target: Target) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sandbox = runtime.block_on(harness::Sandbox::start());
    let router = harness::router(sandbox.running.shared.clone());
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}"))
    );
    let journey = format!(
        "/oidc/auth?{}",
        encode(&[
            ("client_id".into(), DEMO_CLIENT_ID.into()),
            ("redirect_uri".into(), DEMO_REDIRECT_URI.into()),
            ("response_type".into(), "code".into()),
            (
                "scope".into(),
                "openid id:1ffe704d39629a929c8e293880fb449a".into()
            ),
            ("state".into(), "fuzz-state".into()),
            ("nonce".into(), "fuzz-nonce".into()),
            ("prompt".into(), "consent".into()),
            (
                "code_challenge".into(),
                harness::challenge("fuzz-verifier-fuzz-verifier-fuzz-verifier-1")
            ),
            ("code_challenge_method".into(), "S256".into()),
        ])
    );
    let started = runtime
        .block_on(
            router
                .clone()
                .oneshot(Request::get(&journey).body(Body::empty()).expect("get")),
        )
        .expect("infallible");
    assert!(
        started
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.contains("/oidc/interaction/")),
        "the journey starts: {}",
        started.status()
    );
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (fields(), any::<bool>(), "[a-zA-Z0-9_-]{0,30}", "\\PC{0,40}");
    runner
        .run(&strategy, |(fields, authenticated, id, raw)| {
            let body = encode(&fields);
            let mut request = match target {
                Target::PushedRequest => Request::post("/oidc/request"),
                Target::Token => Request::post("/oidc/token"),
                Target::Authorize => Request::get(format!("/oidc/auth?{body}")),
                // A live journey each time (half of them), so the forms reach its steps.
                Target::Interaction if authenticated => {
                    let page = runtime
                        .block_on(
                            router
                                .clone()
                                .oneshot(Request::get(&journey).body(Body::empty()).expect("get")),
                        )
                        .expect("infallible");
                    let location = page
                        .headers()
                        .get(header::LOCATION)
                        .and_then(|l| l.to_str().ok())
                        .unwrap_or("/oidc/interaction/none")
                        .to_string();
                    Request::post(location)
                }
                Target::Interaction => Request::post(format!("/oidc/interaction/{id}")),
            };
            if authenticated {
                request = request.header(header::AUTHORIZATION, basic.as_str());
            } else if !raw.is_empty() {
                request = request.header(header::AUTHORIZATION, format!("Basic {raw}"));
            }
            let request = request
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(match target {
                    Target::Authorize => Body::empty(),
                    _ => Body::from(body),
                })
                .expect("request");
            let status = runtime
                .block_on(router.clone().oneshot(request))
                .expect("infallible")
                .status();
            prop_assert!(!status.is_server_error(), "{:?} answered {status}", target);
            Ok(())
        })
        .expect("no panic, no 5xx");
    println!(
        "ATTACK\tfuzz: {}\t0 panics, 0 5xx\t{} cases, 0 panics, 0 5xx",
        target.name(),
        cases()
    );
}

#[test]
fn pushed_requests_never_break_the_sandbox() {
    fuzz(Target::PushedRequest);
}

#[test]
fn token_requests_never_break_the_sandbox() {
    fuzz(Target::Token);
}

#[test]
fn authorization_queries_never_break_the_sandbox() {
    fuzz(Target::Authorize);
}

#[test]
fn journey_forms_never_break_the_sandbox() {
    fuzz(Target::Interaction);
}

/// A JSON value an admin call might be sent: the numbers and words its routes read, at and
/// past every bound (1e15 users, negative and fractional counts, advances past the calendar),
/// nested a little.
fn admin_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        (0u64..4).prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        Just(json!(1e15)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!("1d")),
        Just(json!("400d")),
        Just(json!("401d")),
        Just(json!("-1h")),
        Just(json!("99999999999999999999s")),
        Just(json!("9999-12-31T23:59:59Z")),
        Just(json!("+262142-01-01T00:00:00Z")),
        Just(json!("withoutOutcome")),
        Just(json!("absent")),
        "\\PC{0,40}".prop_map(|s| json!(s)),
    ];
    let key = prop_oneof![
        Just("users"),
        Just("connectionsPerUser"),
        Just("advance"),
        Just("to"),
        Just("nextLinks"),
        Just("consentRefusalWords"),
        Just("renewalWaitsForNextSync"),
        Just("runningSyncRecord"),
        Just("reauthRenewsIds"),
        Just("issBesideIdToken"),
        Just("clientId"),
        Just("clientSecret"),
        Just("redirectUris"),
        Just("tokenEndpointAuthMethod"),
        Just("status"),
        Just("extendedStatus"),
        Just("error"),
        Just("faults"),
        Just("route"),
        Just("status"),
        Just("times"),
    ];
    leaf.prop_recursive(2, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|fields| {
                serde_json::Value::Object(
                    fields
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

/// The admin API, with its token, as a local program that holds it would drive it: whatever
/// it is sent, the answer is a 2xx–4xx, never a 5xx, a panic or an abort, and the world stays
/// within its bounds.
#[test]
fn admin_calls_never_break_the_sandbox() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sandbox = runtime.block_on(harness::Sandbox::start());
    let router = harness::router(sandbox.running.shared.clone());
    let bearer = format!("Bearer {}", sandbox.running.shared.config.admin_token);
    let route = prop_oneof![
        Just(("POST", "/populate")),
        Just(("POST", "/clock")),
        Just(("PUT", "/readings")),
        Just(("PUT", "/faults")),
        Just(("POST", "/clients")),
        Just(("POST", "/scenarios/needs-attention")),
        Just(("PATCH", "/connections/unknown")),
        Just(("DELETE", "/transactions/unknown")),
        Just(("POST", "/keys/rotate")),
    ];
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(route, admin_value(), "\\PC{0,20}"),
            |((method, path), value, raw)| {
                // Half the bodies as JSON, the rest as whatever text.
                let body = if raw.len() % 2 == 0 {
                    value.to_string()
                } else {
                    raw
                };
                let request = Request::builder()
                    .method(method)
                    .uri(format!("/__sandbox{path}"))
                    .header(header::AUTHORIZATION, bearer.as_str())
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body))
                    .expect("request");
                let status = runtime
                    .block_on(router.clone().oneshot(request))
                    .expect("infallible")
                    .status();
                prop_assert!(
                    !status.is_server_error(),
                    "{method} {path} answered {status}"
                );
                let size = {
                    let world = sandbox.running.shared.world();
                    (world.users.len(), world.connections.len())
                };
                prop_assert!(
                    size.0 <= moneyhub_sandbox::MAX_WORLD_USERS
                        && size.1 <= moneyhub_sandbox::MAX_WORLD_CONNECTIONS,
                    "{size:?}"
                );
                // A world grown by valid calls is put back, so each case costs what one call does.
                if size.1 > 50 {
                    let reset = Request::post("/__sandbox/reset")
                        .header(header::AUTHORIZATION, bearer.as_str())
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from("{}"))
                        .expect("reset");
                    let status = runtime
                        .block_on(router.clone().oneshot(reset))
                        .expect("infallible")
                        .status();
                    prop_assert!(status.is_success(), "reset answered {status}");
                }
                Ok(())
            },
        )
        .expect("no panic, no 5xx, the world bounded");
    println!(
        "ATTACK\tfuzz: admin API bodies with its token (sandbox)\t0 panics, 0 5xx, the world bounded\t{} cases, 0 panics, 0 5xx",
        cases()
    );
}

/// Where a planted world or clock file puts its hostile values: the clock, the world's own
/// bookkeeping, and a connection's dates and counts.
const PLANTED_FIELDS: &[&str] = &[
    "/clockNow",
    "/version",
    "/world/seed",
    "/world/sync_window_secs",
    "/world/caught_up_to",
    "/world/connections/0/connected_on",
    "/world/connections/0/last_updated",
    "/world/connections/0/last_synced_at",
    "/world/connections/0/expires_at",
    "/world/connections/0/user_consented_at",
    "/world/connections/0/fetched_until",
    "/world/connections/0/history_from",
    "/world/connections/0/history_due",
    "/world/connections/0/history_months",
    "/world/connections/0/failing_since",
    "/world/connections/0/manual_syncs",
    "/world/connections/0/sync_attempts",
    "/world/connections/0/account_ids",
    "/world/accounts/0/balance",
    "/world/syncs/0/started_at",
];

/// A world and clock file planted in the data folder: the sandbox starts, serves, and keeps
/// within its bounds whatever they hold (a damaged file is set aside; a far clock costs no more
/// than one admin advance). Each case starts a sandbox, so it runs a hundredth of the cases.
#[test]
fn planted_world_and_clock_files_never_break_the_sandbox() {
    use serde_json::{Value, json};
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = || moneyhub_sandbox::SandboxConfig {
        manual_clock_start: Some(harness::start_time()),
        data_dir: Some(dir.path().to_path_buf()),
        ..moneyhub_sandbox::SandboxConfig::default()
    };
    let (world, clock) = runtime.block_on(async {
        let sandbox = harness::Sandbox::start_with(config()).await;
        let user = sandbox.create_user().await;
        sandbox
            .add_connection(&user, "1ffe704d39629a929c8e293880fb449a")
            .await;
        let harness::Sandbox { running, .. } = sandbox;
        running.stop().await;
        (
            std::fs::read(dir.path().join("sandbox.json")).expect("world"),
            std::fs::read(dir.path().join("sandbox-clock.json")).expect("clock"),
        )
    });
    let saved: Value = serde_json::from_slice(&world).expect("world json");
    let saved_clock: Value = serde_json::from_slice(&clock).expect("clock json");
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!(1e300)),
        Just(json!("9999-12-31T23:59:59Z")),
        Just(json!("+262142-12-31T23:59:59Z")),
        Just(json!("-262143-01-01T00:00:00Z")),
        Just(json!("1970-01-01T00:00:00Z")),
        Just(json!("2066-01-01T00:00:00Z")),
        Just(json!("+262142-12-31")),
        Just(json!([])),
        "\\PC{0,20}".prop_map(|s| json!(s)),
    ];
    let planting = (
        prop::collection::vec((prop::sample::select(PLANTED_FIELDS), leaf), 1..4),
        0usize..world.len() + 1,
    );
    let mut runner = TestRunner::new(Config {
        cases: (cases() / 100).max(20),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&planting, |(fields, cut)| {
            let mut world = saved.clone();
            let mut clock = saved_clock.clone();
            for (field, value) in &fields {
                let (file, pointer) = match field.strip_prefix("/world") {
                    Some(_) => (&mut world, *field),
                    None => (&mut clock, *field),
                };
                if let Some(slot) = file.pointer_mut(pointer) {
                    *slot = value.clone();
                }
            }
            let mut world_bytes = world.to_string().into_bytes();
            // Some files cut short, as a full disk or a killed save would leave them.
            if cut % 3 == 0 {
                world_bytes.truncate(cut.min(world_bytes.len()));
            }
            std::fs::write(dir.path().join("sandbox.json"), &world_bytes).expect("plant");
            std::fs::write(dir.path().join("sandbox-clock.json"), clock.to_string())
                .expect("plant");
            let served = runtime.block_on(async {
                let sandbox = harness::Sandbox::start_with(config()).await;
                let state = sandbox
                    .admin_request(reqwest::Method::GET, "")
                    .send()
                    .await
                    .map(|answer| answer.status());
                let size = {
                    let world = sandbox.running.shared.world();
                    (world.users.len(), world.connections.len())
                };
                let harness::Sandbox { running, .. } = sandbox;
                running.stop().await;
                (state, size)
            });
            prop_assert!(
                matches!(served.0, Ok(status) if status.is_success()),
                "{fields:?}: {:?}",
                served.0
            );
            prop_assert!(served.1.1 <= 1, "{:?}", served.1);
            Ok(())
        })
        .expect("no panic, the sandbox serves");
    println!(
        "ATTACK\tfuzz: planted world and clock files (sandbox)\tstarts and serves, 0 panics\t{} cases, 0 panics",
        (cases() / 100).max(20)
    );
}
