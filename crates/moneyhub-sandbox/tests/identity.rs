//! The identity service over real HTTP: discovery, keys, bank lists, every authorization
//! request style and client authentication method, the journey pages and the scope rules.

use moneyhub_sandbox::test_support as harness;

use harness::{
    AuthOptions, Sandbox, Style, lifecycle_claims, new_connection_claims, parse_callback, post_form,
};
use moneyhub_sandbox::clients::{DEMO_JWT_CLIENT_ID, DEMO_REDIRECT_URI};
use moneyhub_sandbox::keys::{self, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MOCK_BANK: &str = "1ffe704d39629a929c8e293880fb449a";

#[tokio::test]
async fn discovery_keys_lists_and_icons_look_like_moneyhub() {
    let sandbox = Sandbox::start().await;
    let (status, discovery) = sandbox
        .get_json("/oidc/.well-known/openid-configuration", "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(discovery["issuer"], sandbox.issuer);
    for (field, path) in [
        ("authorization_endpoint", "/auth"),
        ("token_endpoint", "/token"),
        ("jwks_uri", "/certs"),
        ("pushed_authorization_request_endpoint", "/request"),
    ] {
        assert_eq!(
            discovery[field],
            format!("{}{path}", sandbox.issuer),
            "{field}"
        );
    }
    assert!(discovery.get("userinfo_endpoint").is_none());
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert!(
        discovery["request_object_signing_alg_values_supported"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("none")))
    );
    assert_eq!(
        discovery["test_connections_endpoint"],
        format!("{}/.well-known/test-connections", sandbox.issuer)
    );
    assert!(
        discovery["scopes_supported"]
            .as_array()
            .is_some_and(|s| s.contains(&json!(format!("id:{MOCK_BANK}"))))
    );

    let (_, jwks) = sandbox.get_json("/oidc/certs", "").await;
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["use"].as_str(),
            key["alg"].as_str()
        ),
        (Some("RSA"), Some("sig"), Some("RS256"))
    );
    assert!(key["kid"].is_string() && key.get("d").is_none());

    // Moneyhub's own client asks for `?undefined`; it must be ignored.
    let (status, tests) = sandbox
        .get_json("/oidc/.well-known/test-connections?undefined", "")
        .await;
    assert_eq!(status, StatusCode::OK);
    let tests = tests.as_array().expect("bare array");
    assert!(tests.iter().all(|bank| bank["type"] == "test"));
    assert!(tests.iter().any(|bank| bank["id"] == MOCK_BANK));
    let (_, all) = sandbox
        .get_json("/oidc/.well-known/all-connections", "")
        .await;
    let all = all.as_array().expect("bare array");
    assert!(all.len() >= 30);
    assert!(
        all.iter().any(|bank| bank["status"]["sync"] != "AVAILABLE"),
        "some provider is degraded"
    );
    for bank in all {
        assert!(
            bank["accountTypes"]
                .as_array()
                .is_some_and(|t| !t.is_empty()),
            "{bank}"
        );
        assert!(bank["id"].as_str().is_some_and(|id| id.len() == 32));
    }
    let (status, _) = sandbox
        .get_json("/oidc/.well-known/nonsense-connections", "")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let icon = sandbox
        .http
        .get(sandbox.url("/bank-icons/monzo"))
        .send()
        .await
        .expect("icon");
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert_eq!(
        sandbox
            .http
            .get(sandbox.url("/bank-icons/unknown-bank"))
            .send()
            .await
            .expect("icon")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        sandbox
            .http
            .get(sandbox.url("/bank-icons/unknown-bank?defaultIcon=true"))
            .send()
            .await
            .expect("icon")
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_connection_added_through_par_with_basic_auth_and_pkce_appears_with_data() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let scope = format!("openid id:{MOCK_BANK}");
    let options = AuthOptions::new(&scope, new_connection_claims(Some(&user)));
    let response = sandbox.begin(&options).await;
    let mut visited = Vec::new();
    let callback = sandbox.walk(response, &[], &mut visited).await;
    assert_eq!(visited, ["login", "accounts", "consent"]);
    assert!(!callback.in_fragment);
    assert_eq!(callback.get("state"), Some("state-123"));
    assert_eq!(callback.get("iss"), Some(sandbox.issuer.as_str()));
    let code = callback.get("code").expect("code").to_string();

    // A wrong verifier burns the code: a code gets one try.
    let (status, error) = sandbox
        .exchange(
            &code,
            Some("not-the-verifier-not-the-verifier-not-the-verifier"),
            Some(&user),
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, _) = sandbox.exchange(&code, options.verifier, Some(&user)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a used code must not work again"
    );

    let response = sandbox
        .begin(&AuthOptions {
            state: "second",
            ..AuthOptions::new(&scope, new_connection_claims(Some(&user)))
        })
        .await;
    let callback = sandbox.walk(response, &[], &mut Vec::new()).await;
    let code = callback.get("code").expect("code").to_string();
    let (status, error) = sandbox
        .exchange(&code, options.verifier, Some("someone-else"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "sub must match"
    );

    let response = sandbox
        .begin(&AuthOptions {
            state: "third",
            ..AuthOptions::new(&scope, new_connection_claims(Some(&user)))
        })
        .await;
    let callback = sandbox.walk(response, &[], &mut Vec::new()).await;
    let (status, tokens) = sandbox
        .exchange(
            callback.get("code").expect("code"),
            options.verifier,
            Some(&user),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let claims = sandbox
        .verify_id_token(tokens["id_token"].as_str().expect("id_token"))
        .await;
    assert_eq!(claims["sub"], user.as_str());
    assert_eq!(claims["aud"], "banklinks-demo");
    assert_eq!(claims["nonce"], "nonce-456");
    assert!(claims["auth_time"].is_i64() && claims["exp"].as_i64() > claims["iat"].as_i64());
    let connection_id = claims["mh:con_id"].as_str().expect("mh:con_id");
    let (bank, uuid) = connection_id.split_once(':').expect("<bankId>:<uuid>");
    assert_eq!(bank, MOCK_BANK);
    assert!(uuid::Uuid::parse_str(uuid).is_ok());

    let connection = sandbox.connection(&user, connection_id).await;
    assert_eq!(connection["status"], "ok");
    assert_eq!(connection["type"], "test");
    assert_eq!(connection["tppConsent"], true);
    assert_eq!(connection["lastUpdated"], connection["lastSyncedAt"]);
    assert_eq!(connection["accountIds"].as_array().map(Vec::len), Some(2));

    let token = sandbox
        .cc_token("accounts:read transactions:read:all", Some(&user))
        .await;
    let (status, accounts) = sandbox
        .get_json(
            &format!("/v3/accounts?connectionId={connection_id}"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(accounts["data"].as_array().map(Vec::len), Some(2));
    let (_, transactions) = sandbox.get_json("/v3/transactions?limit=5", &token).await;
    assert_eq!(transactions["data"].as_array().map(Vec::len), Some(5));
    assert!(transactions["links"]["next"].is_string());
}

#[tokio::test]
async fn a_signed_request_object_by_value_with_private_key_jwt_and_the_hybrid_flow() {
    let sandbox = Sandbox::start().await;
    // A user of the JWT client.
    let assertion = sandbox.client_assertion("cc-1");
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "user:create"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let response = sandbox
        .http
        .post(sandbox.url("/oidc/token"))
        .form(&form)
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);
    // The same assertion again is a replay.
    let replay = sandbox
        .http
        .post(sandbox.url("/oidc/token"))
        .form(&form)
        .send()
        .await
        .expect("token");
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        replay.json::<Value>().await.expect("json")["error"],
        "invalid_client"
    );

    let token: Value = response.json().await.expect("json");
    let created = sandbox
        .http
        .post(sandbox.url("/users"))
        .bearer_auth(token["access_token"].as_str().expect("token"))
        .json(&json!({}))
        .send()
        .await
        .expect("user");
    let user = created.json::<Value>().await.expect("user")["userId"]
        .as_str()
        .expect("id")
        .to_string();

    let scope = format!("openid id:{MOCK_BANK}");
    let options = AuthOptions {
        client_id: DEMO_JWT_CLIENT_ID,
        response_type: "code id_token",
        style: Style::ByValue,
        ..AuthOptions::new(&scope, new_connection_claims(Some(&user)))
    };
    let callback = sandbox
        .walk(sandbox.begin(&options).await, &[], &mut Vec::new())
        .await;
    assert!(
        callback.in_fragment,
        "code id_token answers in the fragment"
    );
    let code = callback.get("code").expect("code");
    let front = sandbox
        .verify_id_token(callback.get("id_token").expect("front-channel id_token"))
        .await;
    assert_eq!(front["c_hash"], keys::left_half_hash(code));
    assert_eq!(front["s_hash"], keys::left_half_hash("state-123"));
    assert_eq!(front["nonce"], "nonce-456");

    let assertion = sandbox.client_assertion("exchange-1");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", DEMO_REDIRECT_URI),
        ("code_verifier", options.verifier.expect("verifier")),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let response = sandbox
        .http
        .post(sandbox.url("/oidc/token"))
        .form(&form)
        .send()
        .await
        .expect("exchange");
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.expect("json");
    let claims = sandbox
        .verify_id_token(tokens["id_token"].as_str().expect("id_token"))
        .await;
    assert!(
        claims["mh:con_id"]
            .as_str()
            .is_some_and(|id| id.starts_with(MOCK_BANK))
    );

    // An unsigned request object from a client registered for RS256 is refused.
    let pushed = AuthOptions {
        client_id: DEMO_JWT_CLIENT_ID,
        style: Style::Pushed,
        state: "pushed",
        ..AuthOptions::new(&scope, new_connection_claims(Some(&user)))
    };
    let callback = sandbox
        .walk(sandbox.begin(&pushed).await, &[], &mut Vec::new())
        .await;
    assert!(
        callback.get("code").is_some(),
        "PAR with private_key_jwt works too"
    );
}

#[tokio::test]
async fn plain_parameters_with_the_bank_chooser_and_its_search() {
    let sandbox = Sandbox::start().await;
    let options = AuthOptions {
        style: Style::Plain,
        response_type: "code",
        extra: vec![("response_mode", "form_post")],
        ..AuthOptions::new("openid id:test", new_connection_claims(None))
    };
    let response = sandbox.begin(&options).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let html = sandbox
        .http
        .get(sandbox.url(&format!("{page}?q=modelo")))
        .send()
        .await
        .expect("search")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Modelo Open Banking Mock") && !html.contains("DAG Bank Test"),
        "search filters the chooser"
    );
    assert!(
        html.contains("Demo bank — Banklinks' simulated bank"),
        "pages say they are the Demo bank"
    );
    let modelo = sandbox.bank_id("Modelo Open Banking Mock").await;
    let response = sandbox
        .http
        .get(sandbox.url(&page))
        .send()
        .await
        .expect("page");
    let mut visited = Vec::new();
    // form_post renders a page with a form to the client instead of redirecting.
    let mut response = response;
    let mut fields = Vec::new();
    for _ in 0..5 {
        let html = response.text().await.expect("html");
        let form = post_form(&html).unwrap_or_else(|| harness::Form {
            step: "done".into(),
            fields: Vec::new(),
        });
        if form.step == "done" {
            assert!(html.contains(&format!("action=\"{DEMO_REDIRECT_URI}\"")));
            fields = html
                .split("<input type=\"hidden\" name=\"")
                .skip(1)
                .filter_map(|chunk| {
                    let (name, rest) = chunk.split_once("\" value=\"")?;
                    Some((name.to_string(), rest.split('"').next()?.to_string()))
                })
                .collect::<Vec<_>>();
            break;
        }
        visited.push(form.step.clone());
        let mut submit = form.fields;
        if form.step == "chooser" {
            submit.retain(|(n, _)| n != "bank");
            submit.push(("bank".into(), modelo.clone()));
        }
        submit.push(("action".into(), "continue".into()));
        let posted = sandbox
            .http
            .post(sandbox.url(&page))
            .form(&submit)
            .send()
            .await
            .expect("submit");
        response = if posted.status() == StatusCode::SEE_OTHER {
            sandbox
                .http
                .get(sandbox.url(&page))
                .send()
                .await
                .expect("next")
        } else {
            posted
        };
    }
    assert_eq!(visited, ["chooser", "login", "accounts", "consent"]);
    let code = fields
        .iter()
        .find(|(n, _)| n == "code")
        .map(|(_, v)| v.clone())
        .expect("code in the form_post page");
    // No sub: Moneyhub creates the user (one-time access).
    let (status, tokens) = sandbox.exchange(&code, options.verifier, None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = sandbox
        .verify_id_token(tokens["id_token"].as_str().expect("id_token"))
        .await;
    assert!(
        claims["mh:con_id"]
            .as_str()
            .is_some_and(|id| id.starts_with(&modelo))
    );
}

#[tokio::test]
async fn scope_and_claim_rules_are_enforced_and_errors_go_back_to_the_client() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let connection = sandbox.add_connection(&user, MOCK_BANK).await;
    let expect_error = |response: reqwest::Response, error: &'static str| async move {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let callback = parse_callback(response.headers()["location"].to_str().expect("location"));
        assert_eq!(callback.get("error"), Some(error), "{:?}", callback.params);
        assert_eq!(callback.get("state"), Some("state-123"));
        assert!(callback.get("error_description").is_some());
    };
    let plain = |scope, claims| AuthOptions {
        style: Style::Plain,
        ..AuthOptions::new(scope, claims)
    };

    let two_banks = format!("openid id:{MOCK_BANK} id:test");
    expect_error(
        sandbox
            .begin(&plain(&two_banks, new_connection_claims(Some(&user))))
            .await,
        "invalid_scope",
    )
    .await;
    expect_error(
        sandbox
            .begin(&plain("openid", new_connection_claims(Some(&user))))
            .await,
        "invalid_scope",
    )
    .await;
    expect_error(
        sandbox
            .begin(&plain(
                "openid reauth offline_access",
                lifecycle_claims(&user, &connection),
            ))
            .await,
        "invalid_scope",
    )
    .await;
    expect_error(
        sandbox
            .begin(&plain("openid reauth", new_connection_claims(Some(&user))))
            .await,
        "invalid_claims",
    )
    .await;
    expect_error(
        sandbox
            .begin(&plain(
                "openid reauth",
                lifecycle_claims(
                    &user,
                    "1ffe704d39629a929c8e293880fb449a:00000000-0000-4000-8000-000000000000",
                ),
            ))
            .await,
        "invalid_claims",
    )
    .await;
    expect_error(
        sandbox
            .begin(&plain(
                "openid refresh",
                lifecycle_claims(&user, &connection),
            ))
            .await,
        "invalid_request",
    )
    .await;
    expect_error(
        sandbox
            .begin(&AuthOptions {
                extra: vec![("prompt", "login")],
                ..plain("openid id:test", new_connection_claims(Some(&user)))
            })
            .await,
        "invalid_request",
    )
    .await;
    expect_error(
        sandbox
            .begin(&AuthOptions {
                extra: vec![("code_challenge_method", "plain")],
                ..plain("openid id:test", new_connection_claims(Some(&user)))
            })
            .await,
        "invalid_request",
    )
    .await;

    // A bad redirect URI or client never redirects.
    let bad_redirect = sandbox
        .begin(&AuthOptions {
            extra: vec![("redirect_uri", "https://evil.example/cb")],
            ..plain("openid id:test", new_connection_claims(None))
        })
        .await;
    assert_eq!(bad_redirect.status(), StatusCode::BAD_REQUEST);
    let bad_client = sandbox
        .begin(&AuthOptions {
            extra: vec![("client_id", "nobody")],
            ..plain("openid id:test", new_connection_claims(None))
        })
        .await;
    assert_eq!(bad_client.status(), StatusCode::BAD_REQUEST);

    // PAR does not check that sub and mh:con_id exist (Moneyhub's own tests rely on it); the
    // authorization endpoint does.
    let pushed = sandbox
        .begin(&AuthOptions::new(
            "openid reauth",
            lifecycle_claims("some-user-id", &connection),
        ))
        .await;
    expect_error(pushed, "invalid_claims").await;

    // A pushed request_uri works once.
    let scope = format!("openid id:{MOCK_BANK}");
    let response = sandbox
        .begin(&AuthOptions::new(
            &scope,
            new_connection_claims(Some(&user)),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Deny at the bank.
    let response = sandbox
        .begin(&AuthOptions::new(
            &scope,
            new_connection_claims(Some(&user)),
        ))
        .await;
    let page = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let denied = sandbox
        .http
        .post(sandbox.url(&page))
        .form(&[("step", "login"), ("action", "deny")])
        .send()
        .await
        .expect("deny");
    expect_error(denied, "access_denied").await;
}

#[tokio::test]
async fn pushed_request_uris_are_single_use_and_par_needs_client_authentication() {
    let sandbox = Sandbox::start().await;
    let unauthenticated = sandbox
        .http
        .post(sandbox.url("/oidc/request"))
        .form(&[
            ("client_id", "banklinks-demo"),
            ("scope", "openid id:test"),
            ("response_type", "code"),
            ("redirect_uri", DEMO_REDIRECT_URI),
        ])
        .send()
        .await
        .expect("par");
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

    let pushed = sandbox
        .http
        .post(sandbox.url("/oidc/request"))
        .header("authorization", Sandbox::basic())
        .form(&[
            ("client_id", "banklinks-demo"),
            ("scope", "openid id:test"),
            ("response_type", "code"),
            ("redirect_uri", DEMO_REDIRECT_URI),
            ("state", "s"),
            ("claims", r#"{"id_token":{"sub":{"essential":true}}}"#),
        ])
        .send()
        .await
        .expect("par");
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let body: Value = pushed.json().await.expect("json");
    let uri = body["request_uri"].as_str().expect("request_uri");
    let url = sandbox.url(&format!("/oidc/auth?request_uri={}", urlencode(uri)));
    assert_eq!(
        sandbox.http.get(&url).send().await.expect("auth").status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        sandbox.http.get(&url).send().await.expect("auth").status(),
        StatusCode::BAD_REQUEST,
        "second use"
    );

    let bad_scope = sandbox
        .http
        .post(sandbox.url("/oidc/request"))
        .header("authorization", Sandbox::basic())
        .form(&[
            ("client_id", "banklinks-demo"),
            ("scope", "openid id:test id:api"),
            ("response_type", "code"),
            ("redirect_uri", DEMO_REDIRECT_URI),
        ])
        .send()
        .await
        .expect("par");
    assert_eq!(bad_scope.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_scope.json::<Value>().await.expect("json")["error"],
        "invalid_scope"
    );
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn replays_double_submits_and_out_of_list_choices_are_refused() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let scope = format!("openid id:{MOCK_BANK}");

    // An unsigned request object from a client registered for RS256 is refused.

    let now = sandbox.running.shared.now().timestamp();
    let header = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"{"alg":"none"}"#,
    );
    let claims = json!({ "iss": DEMO_JWT_CLIENT_ID, "aud": sandbox.issuer, "exp": now + 300, "client_id": DEMO_JWT_CLIENT_ID,
        "redirect_uri": DEMO_REDIRECT_URI, "response_type": "code", "scope": scope, "state": "s" });
    let object = format!(
        "{header}.{}.",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            claims.to_string()
        )
    );
    let url = sandbox.url(&format!(
        "/oidc/auth?client_id={DEMO_JWT_CLIENT_ID}&redirect_uri={}&request={object}",
        urlencode(DEMO_REDIRECT_URI)
    ));
    let refused = sandbox.http.get(url).send().await.expect("auth");
    let callback = parse_callback(refused.headers()["location"].to_str().expect("location"));
    assert_eq!(callback.get("error"), Some("invalid_request_object"));

    // The same request object twice: the second is a replay.
    let signed = SigningKey::demo_client().sign(&json!({ "iss": DEMO_JWT_CLIENT_ID, "aud": sandbox.issuer, "exp": now + 300, "jti": "once-only",
        "client_id": DEMO_JWT_CLIENT_ID, "redirect_uri": DEMO_REDIRECT_URI, "response_type": "code", "scope": scope, "state": "s",
        "claims": new_connection_claims(Some(&user)) }));
    let url = sandbox.url(&format!(
        "/oidc/auth?client_id={DEMO_JWT_CLIENT_ID}&redirect_uri={}&request={signed}",
        urlencode(DEMO_REDIRECT_URI)
    ));
    assert_eq!(
        sandbox.http.get(&url).send().await.expect("auth").status(),
        StatusCode::SEE_OTHER
    );
    let replay = sandbox.http.get(&url).send().await.expect("auth");
    let callback = parse_callback(replay.headers()["location"].to_str().expect("location"));
    assert_eq!(callback.get("error"), Some("invalid_request_object"));

    // A double click on "Allow" completes once.
    let response = sandbox
        .begin(&AuthOptions::new(
            &scope,
            new_connection_claims(Some(&user)),
        ))
        .await;
    let page = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    for step in [
        vec![("step", "login"), ("username", "u"), ("password", "p")],
        vec![("step", "accounts"), ("account", "0")],
    ] {
        let mut form = step;
        form.push(("action", "continue"));
        sandbox
            .http
            .post(sandbox.url(&page))
            .form(&form)
            .send()
            .await
            .expect("submit");
    }
    let allow = [("step", "consent"), ("action", "continue")];
    let (first, second) = tokio::join!(
        sandbox.http.post(sandbox.url(&page)).form(&allow).send(),
        sandbox.http.post(sandbox.url(&page)).form(&allow).send()
    );
    let statuses = [
        first.expect("first").status(),
        second.expect("second").status(),
    ];
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );

    // The chooser only takes banks from the list it offered.
    let response = sandbox
        .begin(&AuthOptions {
            style: Style::Plain,
            ..AuthOptions::new("openid id:legacy", new_connection_claims(Some(&user)))
        })
        .await;
    let page = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let off_list = sandbox
        .http
        .post(sandbox.url(&page))
        .form(&[
            ("step", "chooser"),
            ("bank", MOCK_BANK),
            ("action", "continue"),
        ])
        .send()
        .await
        .expect("choose");
    assert_eq!(off_list.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A bank down for maintenance sends the user back with temporarily_unavailable.
    let maintenance = sandbox.bank_id("Sandbox Bank (down for maintenance)").await;
    let scope = format!("openid id:{maintenance}");
    let response = sandbox
        .begin(&AuthOptions::new(
            &scope,
            new_connection_claims(Some(&user)),
        ))
        .await;
    let page = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let down = sandbox
        .http
        .post(sandbox.url(&page))
        .form(&[
            ("step", "login"),
            ("username", "u"),
            ("password", "p"),
            ("action", "continue"),
        ])
        .send()
        .await
        .expect("login");
    let callback = parse_callback(down.headers()["location"].to_str().expect("location"));
    assert_eq!(callback.get("error"), Some("temporarily_unavailable"));
}

#[tokio::test]
async fn refresh_tokens_end_with_their_connection_and_a_near_expiry_patch_reminds_at_once() {
    let sandbox = Sandbox::start().await;
    let user = sandbox.create_user().await;
    let scope = format!("openid offline_access id:{MOCK_BANK}");
    let options = AuthOptions::new(&scope, new_connection_claims(Some(&user)));
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
        .expect("refresh token")
        .to_string();
    let connection = sandbox
        .verify_id_token(tokens["id_token"].as_str().expect("id_token"))
        .await["mh:con_id"]
        .as_str()
        .expect("id")
        .to_string();

    let update = sandbox.cc_token("connection:update", None).await;
    let soon = (harness::start_time() + chrono::Duration::days(4)).to_rfc3339();
    let patched = sandbox
        .http
        .patch(sandbox.url(&format!("/users/{user}/connections/{connection}")))
        .bearer_auth(&update)
        .json(&json!({ "expiresAt": soon }))
        .send()
        .await
        .expect("patch");
    assert_eq!(patched.status(), StatusCode::NO_CONTENT);
    let events = sandbox
        .admin(reqwest::Method::GET, "/webhooks", Value::Null)
        .await;
    let reminder = events
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["eventType"] == "reauthReminder")
        .expect("a reauthReminder right away");
    assert_eq!(reminder["payload"]["timeUntilReauthorizationInDays"], 4);

    let delete = sandbox.cc_token("connection:delete", None).await;
    sandbox
        .http
        .delete(sandbox.url(&format!("/users/{user}/connections/{connection}")))
        .bearer_auth(&delete)
        .send()
        .await
        .expect("delete");
    let (status, error) = sandbox
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}
