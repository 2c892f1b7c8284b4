//! The parser against good, hostile and malformed links.

use super::*;

fn parse(raw: &str) -> Result<DeepLink, DeepLinkError> {
    raw.parse()
}

fn callback(raw: &str) -> AuthCallback {
    match parse(raw) {
        Ok(DeepLink::AuthCallback(callback)) => callback,
        other => panic!("expected a callback from {raw}, got {other:?}"),
    }
}

#[test]
fn a_code_callback_in_the_query_is_parsed() {
    let cb = callback(
        "banklinks://callback?code=abc123&state=s7ate-xyz&iss=https%3A%2F%2Fidentity.moneyhub.co.uk%2Foidc",
    );
    assert_eq!(cb.state, "s7ate-xyz");
    assert_eq!(cb.location, ResponseLocation::Query);
    assert_eq!(
        cb.issuer.as_deref(),
        Some("https://identity.moneyhub.co.uk/oidc")
    );
    match cb.outcome {
        AuthOutcome::Granted { code, id_token } => {
            assert_eq!(code.expose(), "abc123");
            assert!(id_token.is_none());
        }
        other => panic!("expected a grant, got {other:?}"),
    }
}

#[test]
fn a_hybrid_callback_in_the_fragment_is_parsed() {
    let cb = callback("banklinks://callback#code=c0de&id_token=aaa.bbb.ccc&state=st");
    assert_eq!(cb.location, ResponseLocation::Fragment);
    assert!(
        matches!(cb.outcome, AuthOutcome::Granted { id_token: Some(ref t), .. } if t.expose() == "aaa.bbb.ccc")
    );
}

#[test]
fn an_error_callback_keeps_the_servers_words() {
    let cb = callback(
        "banklinks://callback/?error=access_denied&error_description=User+cancelled&state=st",
    );
    assert_eq!(
        cb.outcome,
        AuthOutcome::Refused {
            error: "access_denied".into(),
            description: Some("User cancelled".into())
        }
    );
}

#[test]
fn unknown_extra_parameters_are_ignored() {
    let cb = callback("banklinks://callback?code=c&state=s&session_state=zzz");
    assert_eq!(cb.state, "s");
}

#[test]
fn a_connection_link_is_parsed() {
    assert_eq!(
        parse(
            "banklinks://connections/1ffe704d39629a929c8e293880fb449a:8d3a4b9c-0f1e-4c3a-9a5b-2c1d0e9f8a7b"
        ),
        Ok(DeepLink::OpenConnection {
            connection_id: "1ffe704d39629a929c8e293880fb449a:8d3a4b9c-0f1e-4c3a-9a5b-2c1d0e9f8a7b"
                .into()
        })
    );
}

#[test]
fn malformed_and_unexpected_links_are_rejected_with_a_reason() {
    let cases: &[(&str, DeepLinkError)] = &[
        ("not a url", DeepLinkError::NotAUrl),
        (
            "https://callback?code=a&state=b",
            DeepLinkError::WrongScheme,
        ),
        (
            "banklinks://evil/steal?code=a&state=b",
            DeepLinkError::UnknownTarget(SafeText("\"evil/steal\"".into())),
        ),
        (
            "banklinks://user:pw@callback?code=a&state=b",
            DeepLinkError::HasCredentials,
        ),
        (
            "banklinks://callback?code=a&state=b#code=c&state=d",
            DeepLinkError::AmbiguousLocation,
        ),
        (
            "banklinks://callback?code=a&code=b&state=s",
            DeepLinkError::DuplicateParameter("code"),
        ),
        (
            "banklinks://callback?code=a&state=s&state=t",
            DeepLinkError::DuplicateParameter("state"),
        ),
        ("banklinks://callback?code=a", DeepLinkError::MissingState),
        ("banklinks://callback", DeepLinkError::MissingState),
        (
            "banklinks://callback?state=s",
            DeepLinkError::MissingOutcome,
        ),
        (
            "banklinks://callback?state=s&code=a&error=access_denied",
            DeepLinkError::ConflictingOutcome,
        ),
        (
            "banklinks://callback?state=&code=a",
            DeepLinkError::BadParameter("state"),
        ),
        (
            "banklinks://callback?state=s&code=a%0Ab",
            DeepLinkError::BadParameter("code"),
        ),
        (
            "banklinks://callback?state=s&error=bad%22quote",
            DeepLinkError::BadParameter("error"),
        ),
        ("banklinks://connections/", DeepLinkError::BadConnectionId),
        (
            "banklinks://connections/a%2Fb",
            DeepLinkError::BadConnectionId,
        ),
        (
            "banklinks://connections/abc/def",
            DeepLinkError::BadConnectionId,
        ),
    ];
    for (raw, expected) in cases {
        assert_eq!(&parse(raw).expect_err(raw), expected, "for {raw}");
    }
}

#[test]
fn an_oversized_link_is_rejected_before_parsing() {
    let raw = format!(
        "banklinks://callback?state=s&code={}",
        "a".repeat(MAX_LINK_LEN)
    );
    assert!(matches!(parse(&raw), Err(DeepLinkError::TooLong { .. })));
}

#[test]
fn rejection_reasons_never_echo_values_from_the_link() {
    let secret = "SECRETCODE0123456789SECRETCODE0123456789";
    let raws = [
        format!("banklinks://{secret}?code={secret}&state=s"),
        format!("banklinks://callback?code={secret}&code={secret}&state=s"),
        format!("banklinks://callback?code={secret}"),
    ];
    for raw in raws {
        let reason = parse(&raw).expect_err(&raw).to_string();
        assert!(!reason.contains("SECRETCODE"), "{reason}");
    }
}

#[test]
fn the_redacted_form_hides_code_token_and_most_of_the_state() {
    let link = parse("banklinks://callback#code=SECRETCODE&id_token=SECRET.TOKEN.X&state=abcdefgh&iss=https://id.example/oidc").expect("valid");
    let redacted = link.redacted();
    assert_eq!(
        redacted,
        "banklinks://callback#code=[redacted]&id_token=[redacted]&state=abcd…&iss=https://id.example/oidc"
    );
    assert!(!format!("{link:?}").contains("SECRET"));
    assert_eq!(link.summary().kind, DeepLinkKind::AuthCallback);
}

/// A link anyone can send carries an attacker's words until it is matched to a request of ours:
/// the diagnostics and the log repeat only an error code OAuth defines, never the description.
#[test]
fn a_refusal_link_repeats_no_words_an_attacker_wrote() {
    let forged = parse(
        "banklinks://callback?error=access_denied&error_description=Your+account+is+locked,+call+0800+123+456&state=forged",
    )
    .expect("valid");
    let redacted = forged.redacted();
    assert_eq!(
        redacted,
        "banklinks://callback?error=access_denied&error_description=[withheld]&state=forg…"
    );
    let invented = parse("banklinks://callback?error=call_0800_123_456_now&state=forged")
        .expect("valid")
        .redacted();
    assert!(!invented.contains("0800"), "{invented}");
    assert!(invented.contains("error=[other]"), "{invented}");
}
