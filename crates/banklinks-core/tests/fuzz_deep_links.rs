//! Property-based fuzzing of the deep-link parser, the first code any `banklinks://` link
//! from another app or web page reaches. Nothing may panic; a well-formed callback must read
//! back exactly; whatever is accepted must redact its secrets.
//!
//! `BANKLINKS_FUZZ_CASES` sets the cases (CI a few thousand, `scripts/attack` 100,000).

use banklinks_core::deep_link::{AuthOutcome, DeepLink};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases() -> u32 {
    moneyhub_sandbox::test_support::count_from_env("BANKLINKS_FUZZ_CASES", 2_000)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

fn link_like() -> impl Strategy<Value = String> {
    let head = prop_oneof![
        Just("banklinks://callback".to_string()),
        Just("banklinks://connections/".to_string()),
        Just("BANKLINKS://Callback".to_string()),
        Just("banklinks:callback".to_string()),
        Just("banklinks://".to_string()),
        "[a-z]{0,9}:(//)?[a-zA-Z./%]{0,16}",
    ];
    let name = prop_oneof![
        Just("code".to_string()),
        Just("state".to_string()),
        Just("id_token".to_string()),
        Just("iss".to_string()),
        Just("error".to_string()),
        Just("error_description".to_string()),
        "[a-z_%]{0,8}",
    ];
    let value = prop_oneof!["\\PC{0,60}", "[%&=#?+/.]{0,8}", "[A-Za-z0-9_-]{0,600}"];
    let pairs = prop::collection::vec((name, value), 0..7);
    (head, "[a-zA-Z0-9:/._%-]{0,40}", pairs, any::<u8>()).prop_map(|(head, tail, pairs, mix)| {
        let joined = pairs
            .into_iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        match mix % 4 {
            0 => format!("{head}{tail}?{joined}"),
            1 => format!("{head}{tail}#{joined}"),
            2 => format!("{head}?{joined}#{joined}"),
            _ => format!("{head}{tail}"),
        }
    })
}

#[test]
fn the_deep_link_parser_never_panics_and_redacts_what_it_accepts() {
    let mut runner = runner();
    let input = prop_oneof![link_like(), "\\PC{0,300}"];
    runner
        .run(&input, |text| {
            if let Ok(link) = text.parse::<DeepLink>() {
                let redacted = link.redacted();
                if let DeepLink::AuthCallback(callback) = &link {
                    let _ = callback.to_client();
                    if let AuthOutcome::Granted { code, .. } = &callback.outcome
                        && code.expose().len() >= 8
                    {
                        prop_assert!(!redacted.contains(code.expose().as_str()), "{redacted}");
                    }
                }
            }
            Ok(())
        })
        .expect("no panic, nothing secret in a redacted link");
    println!(
        "ATTACK\tfuzz: deep-link parser\t0 panics\t{} cases, 0 panics",
        cases()
    );
}

#[test]
fn a_well_formed_callback_reads_back_exactly() {
    let mut runner = runner();
    let token = "[A-Za-z0-9_-]{8,64}";
    runner
        .run(&(token, token), |(state, code)| {
            let link = format!("banklinks://callback?code={code}&state={state}");
            match link.parse::<DeepLink>() {
                Ok(DeepLink::AuthCallback(callback)) => {
                    prop_assert_eq!(&callback.state, &state);
                    match &callback.outcome {
                        AuthOutcome::Granted { code: read, .. } => {
                            prop_assert_eq!(read.expose(), &code)
                        }
                        other => prop_assert!(false, "{other:?}"),
                    }
                }
                other => prop_assert!(false, "{link}: {other:?}"),
            }
            Ok(())
        })
        .expect("round trip");
}
