//! Property-based fuzzing of what the client reads from outside: the callback parser and the
//! decoder of every Moneyhub response type. Inputs are both random text and real sandbox
//! answers with one node replaced or removed. Nothing may panic; a bad input is an `Err`.
//!
//! `BANKLINKS_FUZZ_CASES` sets the cases per target (CI runs a few thousand, `scripts/attack`
//! 100,000). Each target prints one `ATTACK` line for the table.

use moneyhub::Callback;
use moneyhub::models::{
    Account, Balance, Connection, Institution, RegularTransaction, SyncRun, SyncStarted,
    Transaction, User,
};
use moneyhub_sandbox::test_support as harness;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

const MOCK_BANK: &str = "1ffe704d39629a929c8e293880fb449a";

fn cases() -> u32 {
    harness::count_from_env("BANKLINKS_FUZZ_CASES", 2_000)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

fn report(target: &str, cases: u32) {
    println!("ATTACK\tfuzz: {target}\t0 panics\t{cases} cases, 0 panics");
}

/// A redirect as a hostile page or app could shape it: the right or a wrong scheme and host,
/// then any mix of the parameters a callback has, repeated, empty or garbled, in the query,
/// the fragment or both.
fn callback_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        Just("banklinks://callback".to_string()),
        Just("banklinks://".to_string()),
        Just("https://evil.example/cb".to_string()),
        "[a-z]{0,8}:(//)?[a-z./]{0,12}",
    ];
    let name = prop_oneof![
        Just("code"),
        Just("state"),
        Just("id_token"),
        Just("iss"),
        Just("error"),
        Just("error_description"),
        Just("response"),
        Just(""),
    ];
    let value = prop_oneof!["\\PC{0,40}", "[%&=#?+]{0,6}", Just(String::new())];
    let pairs = prop::collection::vec((name, value), 0..6);
    (scheme, pairs.clone(), pairs, any::<u8>()).prop_map(|(scheme, query, fragment, mix)| {
        let join = |pairs: Vec<(&str, String)>| {
            pairs
                .into_iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        match mix % 4 {
            0 => format!("{scheme}?{}", join(query)),
            1 => format!("{scheme}#{}", join(fragment)),
            2 => format!("{scheme}?{}#{}", join(query), join(fragment)),
            _ => format!("{scheme}{}", join(query)),
        }
    })
}

#[test]
fn the_callback_parser_never_panics() {
    let mut runner = runner();
    let input = prop_oneof![callback_like(), "\\PC{0,200}"];
    runner
        .run(&input, |text| {
            let _ = Callback::parse(&text);
            Ok(())
        })
        .expect("no panic");
    report("callback parser (client)", cases());
}

/// Real answers from the sandbox, one per response type, to mutate.
async fn samples() -> Vec<(&'static str, Value)> {
    let sandbox = harness::Sandbox::start().await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;
    sandbox.advance("3d").await;
    let token = sandbox
        .cc_token(
            "accounts:read transactions:read:all regular_transactions:read",
            Some(&user),
        )
        .await;
    let admin = sandbox.cc_token("user:read connection:read", None).await;
    // The Data API wraps answers in `data`; the identity service's user routes do not.
    let data = |(_, body): (reqwest::StatusCode, Value)| match body.get("data") {
        Some(data) => data.clone(),
        None => body,
    };
    let first = |value: Value| value.get(0).cloned().unwrap_or(Value::Null);
    let accounts = data(sandbox.get_json("/v3/accounts", &token).await);
    let account = first(accounts.clone());
    let account_id = account["id"].as_str().unwrap_or_default().to_string();
    let syncs = data(
        sandbox
            .get_json(
                &format!("/users/{user}/connections/{connection}/syncs"),
                &admin,
            )
            .await,
    );
    let institutions: Value = sandbox
        .http
        .get(sandbox.url("/oidc/.well-known/all-connections"))
        .send()
        .await
        .expect("institutions")
        .json()
        .await
        .expect("json");
    // As `POST /sync` answers on v3 (its data), without spending the connection's sync.
    let started = json!({ "syncId": "5b0e7a3c-1d2f-4e5a-8b9c-0d1e2f3a4b5c", "status": "ok" });
    vec![
        (
            "user",
            data(sandbox.get_json(&format!("/users/{user}"), &admin).await),
        ),
        (
            "connection",
            first(data(
                sandbox
                    .get_json(&format!("/users/{user}/connections"), &admin)
                    .await,
            )),
        ),
        ("account", account),
        (
            "transaction",
            first(data(
                sandbox.get_json("/v3/transactions?limit=5", &token).await,
            )),
        ),
        (
            "balance",
            first(data(
                sandbox
                    .get_json(&format!("/v3/accounts/{account_id}/balances"), &token)
                    .await,
            )),
        ),
        (
            "regular transaction",
            first(data(
                sandbox.get_json("/v3/regular-transactions", &token).await,
            )),
        ),
        ("sync run", first(syncs)),
        ("sync started", started),
        ("institution", first(institutions)),
    ]
}

fn decode(kind: &str, bytes: &[u8]) -> bool {
    match kind {
        "user" => serde_json::from_slice::<User>(bytes).is_ok(),
        "connection" => serde_json::from_slice::<Connection>(bytes).is_ok(),
        "account" => serde_json::from_slice::<Account>(bytes).is_ok(),
        "transaction" => serde_json::from_slice::<Transaction>(bytes).is_ok(),
        "balance" => serde_json::from_slice::<Balance>(bytes).is_ok(),
        "regular transaction" => serde_json::from_slice::<RegularTransaction>(bytes).is_ok(),
        "sync run" => serde_json::from_slice::<SyncRun>(bytes).is_ok(),
        "sync started" => serde_json::from_slice::<SyncStarted>(bytes).is_ok(),
        "institution" => serde_json::from_slice::<Institution>(bytes).is_ok(),
        other => panic!("no decoder for {other}"),
    }
}

/// Every node's path in a JSON document, so a mutation can pick one.
fn paths(value: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(PathStep::Key(key.clone()));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                prefix.push(PathStep::Index(index));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// Replaces the node at `path` with `replacement`, or removes it when that is `None`.
fn mutate(document: &mut Value, path: &[PathStep], replacement: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        if let Some(value) = replacement {
            *document = value;
        }
        return;
    };
    let mut node = document;
    for step in parents {
        node = match (step, node) {
            (PathStep::Key(key), Value::Object(map)) => match map.get_mut(key) {
                Some(child) => child,
                None => return,
            },
            (PathStep::Index(index), Value::Array(items)) => match items.get_mut(*index) {
                Some(child) => child,
                None => return,
            },
            _ => return,
        };
    }
    match (last, node, replacement) {
        (PathStep::Key(key), Value::Object(map), Some(value)) => {
            map.insert(key.clone(), value);
        }
        (PathStep::Key(key), Value::Object(map), None) => {
            map.remove(key);
        }
        (PathStep::Index(index), Value::Array(items), Some(value)) if *index < items.len() => {
            items[*index] = value;
        }
        (PathStep::Index(index), Value::Array(items), None) if *index < items.len() => {
            items.remove(*index);
        }
        _ => {}
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "\\PC{0,30}".prop_map(Value::String),
        Just(json!("2026-13-45T25:61:61Z")),
        Just(json!("")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

#[test]
fn every_response_decoder_takes_any_mutation_without_panicking() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let samples = runtime.block_on(samples());
    for (kind, sample) in &samples {
        assert!(
            decode(kind, sample.to_string().as_bytes()),
            "the unmutated {kind} decodes: {sample}"
        );
    }
    let with_paths: Vec<(&str, Value, Vec<Vec<PathStep>>)> = samples
        .iter()
        .map(|(kind, sample)| {
            let mut all = Vec::new();
            paths(sample, &mut Vec::new(), &mut all);
            (*kind, sample.clone(), all)
        })
        .collect();
    let mut runner = runner();
    let strategy = (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        prop::option::weighted(0.85, any_json()),
        prop::collection::vec(any::<u8>(), 0..64),
    );
    runner
        .run(&strategy, |(which, node, replacement, noise)| {
            let (kind, sample, all) = which.get(&with_paths);
            let mut document = sample.clone();
            let path: &Vec<PathStep> = node.get(all);
            mutate(&mut document, path, replacement);
            decode(kind, document.to_string().as_bytes());
            // And raw bytes: truncated JSON, binary, nothing.
            let mut text = document.to_string().into_bytes();
            text.truncate(noise.len().min(text.len()));
            decode(kind, &text);
            decode(kind, &noise);
            Ok(())
        })
        .expect("no panic");
    report("the client's decoders (9 response types)", cases());
}
