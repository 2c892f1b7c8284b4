//! The client against the sandbox over loopback: every authorization flow with both client
//! authentication methods, both request-object algorithms, PAR and by-value, `code` and
//! `code id_token`, the REST calls, and what must be rejected.

use moneyhub_sandbox::test_support as harness;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use harness::Sandbox;
use moneyhub::api::TransactionQuery;
use moneyhub::jwt::{KeyAlgorithm, SigningKey};
use moneyhub::{
    BankChoice, Callback, ClientAuth, Config, Environment, Error, Moneyhub, Purpose,
    RequestObjectSigning, ResponseType, find_pending,
};
use moneyhub_sandbox::clients::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_JWT_CLIENT_ID, DEMO_REDIRECT_URI,
};
use moneyhub_sandbox::keys::DEMO_CLIENT_PRIVATE_KEY_PEM;
use reqwest::Method;
use serde_json::json;

const MOCK_BANK: &str = "1ffe704d39629a929c8e293880fb449a";

/// The sandbox's clock, so tokens and id_tokens are judged at the sandbox's "now".
#[derive(Debug)]
struct SandboxTime(Arc<moneyhub_sandbox_shared::Handle>);

mod moneyhub_sandbox_shared {
    #[derive(Debug)]
    pub struct Handle(pub std::sync::Mutex<chrono::DateTime<chrono::Utc>>);
}

impl Environment for SandboxTime {
    fn now(&self) -> DateTime<Utc> {
        *self.0.0.lock().expect("clock")
    }
    fn fill_random(&self, buf: &mut [u8]) {
        moneyhub::SystemEnvironment.fill_random(buf);
    }
}

struct Setup {
    sandbox: Sandbox,
    time: Arc<moneyhub_sandbox_shared::Handle>,
}

impl Setup {
    async fn new() -> Self {
        let sandbox = Sandbox::start().await;
        let time = Arc::new(moneyhub_sandbox_shared::Handle(std::sync::Mutex::new(
            harness::start_time(),
        )));
        Self { sandbox, time }
    }

    fn config(&self, jwt: bool) -> Config {
        let identity = url::Url::parse(&self.sandbox.running.identity_url()).expect("url");
        let api = url::Url::parse(&self.sandbox.running.api_url()).expect("url");
        if jwt {
            let key = SigningKey::from_pem(DEMO_CLIENT_PRIVATE_KEY_PEM, KeyAlgorithm::Rs256, None)
                .expect("key");
            let mut config = Config::new(
                identity,
                api,
                DEMO_JWT_CLIENT_ID,
                ClientAuth::PrivateKeyJwt { key },
                DEMO_REDIRECT_URI,
            );
            config.request_object_signing = RequestObjectSigning::Rs256;
            config
        } else {
            Config::new(
                identity,
                api,
                DEMO_CLIENT_ID,
                ClientAuth::SecretBasic {
                    secret: DEMO_CLIENT_SECRET.into(),
                },
                DEMO_REDIRECT_URI,
            )
        }
    }

    fn client(&self, config: Config) -> Moneyhub {
        Moneyhub::with_environment(config, Arc::new(SandboxTime(self.time.clone())))
            .expect("client")
    }

    async fn advance(&self, by: &str, seconds: i64) {
        self.sandbox.advance(by).await;
        *self.time.0.lock().expect("clock") += chrono::Duration::seconds(seconds);
    }

    /// Has the sandbox play one reading of a gap in the docs (`PUT /__sandbox/readings`),
    /// keeping the others as they are.
    async fn play(&self, reading: &str, value: serde_json::Value) {
        let mut readings = self
            .sandbox
            .admin(Method::GET, "/readings", serde_json::Value::Null)
            .await;
        readings[reading] = value;
        self.sandbox.admin(Method::PUT, "/readings", readings).await;
    }

    /// Opens the URL as a browser would and clicks through the journey; returns the callback URL.
    async fn journey(&self, url: &url::Url, choose: &[(&str, &str)]) -> String {
        let response = self
            .sandbox
            .http
            .get(url.as_str())
            .send()
            .await
            .expect("open");
        let callback = self.sandbox.walk(response, choose, &mut Vec::new()).await;
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(callback.params.iter())
            .finish();
        let separator = if callback.in_fragment { '#' } else { '?' };
        format!("{DEMO_REDIRECT_URI}{separator}{query}")
    }
}

#[tokio::test]
async fn add_a_connection_with_par_and_basic_auth_then_read_and_sync_it() {
    let setup = Setup::new().await;
    let client = setup.client(setup.config(false));
    let user = client.register_user(Some("me")).await.expect("user");
    let begun = client
        .begin(Purpose::AddConnection {
            user_id: user.user_id.clone(),
            bank: BankChoice::Bank(MOCK_BANK.into()),
        })
        .await
        .expect("begin");
    let query: std::collections::HashMap<String, String> =
        begun.url.query_pairs().into_owned().collect();
    assert!(
        query
            .get("request_uri")
            .is_some_and(|uri| uri.starts_with("urn:ietf:params:oauth:request_uri:")),
        "{query:?}"
    );
    // RFC 9126 §4: client_id beside request_uri, and nothing else.
    assert_eq!(
        query.get("client_id").map(String::as_str),
        Some(DEMO_CLIENT_ID)
    );
    assert_eq!(query.len(), 2, "{query:?}");
    assert!(
        !format!("{begun:?}").contains(begun.secrets.code_verifier.expose()),
        "the verifier never formats"
    );

    let callback_url = setup.journey(&begun.url, &[]).await;
    let callback = Callback::parse(&callback_url).expect("callback");
    let pending = vec![begun.pending.clone()];
    let found = find_pending(&pending, &callback).expect("matches the pending authorization");
    let done = client
        .complete(found, &begun.secrets, &callback)
        .await
        .expect("complete");
    assert!(done.connection_id.starts_with(MOCK_BANK));
    assert!(done.previous_connection_id.is_none());
    assert!(!format!("{done:?}").contains(done.access_token.expose()));

    // The same callback again: the code was used.
    let again = client.complete(found, &begun.secrets, &callback).await;
    assert!(
        matches!(again, Err(Error::OAuth { ref error, .. }) if error == "invalid_grant"),
        "{again:?}"
    );

    let connections = client
        .connections(&user.user_id)
        .await
        .expect("connections");
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].id, done.connection_id);
    assert_eq!(connections[0].bank_id(), MOCK_BANK);
    let accounts = client
        .accounts(&user.user_id, Some(&done.connection_id))
        .await
        .expect("accounts");
    assert_eq!(accounts.len(), 2);
    assert!(
        !client
            .balances(&user.user_id, &accounts[0].id)
            .await
            .expect("balances")
            .is_empty()
    );

    setup.advance("3m", 180).await;
    let mut pages = client.transactions(
        &user.user_id,
        TransactionQuery {
            page_size: Some(100),
            ..TransactionQuery::default()
        },
    );
    let mut seen = std::collections::HashSet::new();
    while let Some(page) = pages.next_page().await.expect("page") {
        assert!(page.len() <= 100);
        for transaction in page {
            assert!(seen.insert(transaction.id), "no duplicates across pages");
        }
    }
    assert!(seen.len() > 200, "a year of history: {}", seen.len());

    // Regular payments: salary in, rent and bills out, each with its predicted next one.
    let series = client
        .regular_transactions(&user.user_id, None)
        .await
        .expect("regular transactions");
    assert!(series.iter().any(|s| s.kind == "income"), "{series:#?}");
    assert!(series.iter().any(|s| s.kind == "payment"), "{series:#?}");
    for s in &series {
        assert_eq!(s.predicted_amount.currency, "GBP");
        assert_eq!(s.kind == "income", s.predicted_amount.value > 0, "{s:?}");
        let (earliest, latest) = (
            s.predicted_date_earliest.expect("earliest"),
            s.predicted_date_latest.expect("latest"),
        );
        assert!(earliest <= s.predicted_date && s.predicted_date <= latest);
        assert!(s.transactions.len() >= 3 && seen.contains(&s.transactions[0]));
    }
    let one_account = client
        .regular_transactions(&user.user_id, Some(&accounts[0].id))
        .await
        .expect("one account's series");
    assert!(one_account.iter().all(|s| s.account_id == accounts[0].id));

    let started = client
        .sync(
            &user.user_id,
            &done.connection_id,
            Some("203.0.113.9".parse().expect("ip")),
        )
        .await
        .expect("sync");
    assert_eq!(started.status, "ok");
    match client.sync(&user.user_id, &done.connection_id, None).await {
        Err(Error::RateLimited {
            retry_after: Some(after),
            ..
        }) => assert_eq!(after.as_secs(), 1800),
        other => panic!("expected a rate limit, got {other:?}"),
    }
    assert!(!client.institutions("test").await.expect("list").is_empty());
    client
        .delete_connection(&user.user_id, &done.connection_id)
        .await
        .expect("delete");
    assert!(
        client
            .connections(&user.user_id)
            .await
            .expect("connections")
            .is_empty()
    );
}

#[tokio::test]
async fn private_key_jwt_with_signed_request_objects_by_value_and_the_hybrid_flow() {
    let setup = Setup::new().await;
    let mut config = setup.config(true);
    config.use_par = false;
    config.response_type = ResponseType::CodeIdToken;
    let client = setup.client(config);
    let user = client.register_user(None).await.expect("user");
    let begun = client
        .begin(Purpose::AddConnection {
            user_id: user.user_id.clone(),
            bank: BankChoice::Bank(MOCK_BANK.into()),
        })
        .await
        .expect("begin");
    assert!(
        begun.url.query().is_some_and(|q| q.contains("request=")),
        "by value"
    );
    let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    assert!(callback.in_fragment && callback.id_token.is_some());
    assert!(
        callback.iss.is_none(),
        "the sandbox plays node-oidc-provider: no iss beside an id_token"
    );
    let done = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("complete");
    assert!(done.connection_id.starts_with(MOCK_BANK));

    // With PAR and the chooser this time.
    let mut config = setup.config(true);
    config.response_type = ResponseType::CodeIdToken;
    let client = setup.client(config);
    let begun = client
        .begin(Purpose::AddConnection {
            user_id: user.user_id.clone(),
            bank: BankChoice::Test,
        })
        .await
        .expect("begin");
    let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    let done = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("complete");
    assert_eq!(
        client.connections(&user.user_id).await.expect("list").len(),
        2
    );
    assert!(!done.connection_id.is_empty());
}

#[tokio::test]
async fn reauth_reports_a_changed_id_and_reconsent_and_refresh_complete() {
    let setup = Setup::new().await;
    let client = setup.client(setup.config(false));
    let user = client.register_user(None).await.expect("user").user_id;
    let new_id_bank = setup
        .sandbox
        .bank_id("Sandbox Bank (new id on reauth)")
        .await;
    let add = |bank: String| {
        let client = &client;
        let user = user.clone();
        let setup = &setup;
        async move {
            let begun = client
                .begin(Purpose::AddConnection {
                    user_id: user,
                    bank: BankChoice::Bank(bank),
                })
                .await
                .expect("begin");
            let callback =
                Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
            client
                .complete(&begun.pending, &begun.secrets, &callback)
                .await
                .expect("complete")
                .connection_id
        }
    };
    let connection = add(new_id_bank).await;
    let begun = client
        .begin(Purpose::Reauth {
            user_id: user.clone(),
            connection_id: connection.clone(),
        })
        .await
        .expect("begin");
    let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    let done = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("complete");
    assert_eq!(
        done.previous_connection_id.as_deref(),
        Some(connection.as_str())
    );
    assert_ne!(done.connection_id, connection);

    let mock = add(MOCK_BANK.into()).await;
    let until = harness::start_time() + chrono::Duration::days(30);
    let begun = client
        .begin(Purpose::Reconsent {
            user_id: user.clone(),
            connection_id: mock.clone(),
            expires_at: Some(until),
        })
        .await
        .expect("begin");
    let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("reconsent");
    let renewed = client
        .connections(&user)
        .await
        .expect("list")
        .into_iter()
        .find(|c| c.id == mock)
        .expect("connection");
    assert_eq!(renewed.expires_at, Some(until));

    let legacy = add(setup.sandbox.bank_id("Hargreaves Lansdown").await).await;
    setup.advance("1d", 86_400).await;
    let stuck = client
        .connections(&user)
        .await
        .expect("list")
        .into_iter()
        .find(|c| c.id == legacy)
        .expect("connection");
    assert_eq!(
        stuck.error,
        Some(moneyhub::models::ConnectionError::MfaRequired)
    );
    let begun = client
        .begin(Purpose::Refresh {
            user_id: user.clone(),
            connection_id: legacy.clone(),
        })
        .await
        .expect("begin");
    let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("refresh");
    let fixed = client
        .connections(&user)
        .await
        .expect("list")
        .into_iter()
        .find(|c| c.id == legacy)
        .expect("connection");
    assert_eq!(fixed.status, moneyhub::models::ConnectionStatus::Ok);
}

#[tokio::test]
async fn bad_callbacks_and_bad_id_tokens_are_rejected() {
    let setup = Setup::new().await;
    let mut config = setup.config(false);
    config.response_type = ResponseType::CodeIdToken;
    let client = setup.client(config);
    let user = client.register_user(None).await.expect("user").user_id;
    let purpose = || Purpose::AddConnection {
        user_id: user.clone(),
        bank: BankChoice::Bank(MOCK_BANK.into()),
    };

    // Unknown or forged state.
    let begun = client.begin(purpose()).await.expect("begin");
    let forged = Callback::parse("banklinks://callback#code=abc&state=forged&id_token=x.y.z")
        .expect("parse");
    assert!(find_pending(std::slice::from_ref(&begun.pending), &forged).is_none());
    assert!(matches!(
        client
            .complete(&begun.pending, &begun.secrets, &forged)
            .await,
        Err(Error::UnknownState)
    ));

    // A wrong nonce (the secrets of another authorization).
    let other = client.begin(purpose()).await.expect("begin");
    let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    let result = client
        .complete(&begun.pending, &other.secrets, &callback)
        .await;
    assert!(
        matches!(result, Err(Error::IdTokenRejected { ref reason }) if reason.contains("nonce")),
        "{result:?}"
    );

    // c_hash must bind the code: swap in another code.
    let begun = client.begin(purpose()).await.expect("begin");
    let mut callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    callback.code = Some("a-different-code".into());
    let result = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await;
    assert!(
        matches!(result, Err(Error::IdTokenRejected { ref reason }) if reason.contains("c_hash")),
        "{result:?}"
    );

    // An id_token signed by another key, and one with alg none: each is right in every other
    // way (nonce, c_hash for this code, a plain `JWT` type), so only the signature can sink it.
    // The control, the same claims signed by the sandbox's key, completes.
    let begun = client.begin(purpose()).await.expect("begin");
    let mut callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    let code = callback.code.as_ref().expect("code").expose().to_string();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(code.as_bytes());
    let c_hash = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &digest[..16],
    );
    let now = harness::start_time().timestamp();
    let claims = json!({ "iss": format!("{}/oidc", setup.sandbox.base), "aud": DEMO_CLIENT_ID, "sub": user, "nonce": begun.secrets.nonce.expose(), "c_hash": c_hash, "iat": now, "exp": now + 600 });
    callback.id_token = Some(
        moneyhub_sandbox::keys::SigningKey::demo_client()
            .sign(&claims)
            .into(),
    );
    let result = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await;
    assert!(
        matches!(result, Err(Error::IdTokenRejected { ref reason }) if !reason.contains("c_hash") && !reason.contains("nonce")),
        "{result:?}"
    );
    let b64 = |bytes: &[u8]| {
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
    };
    let alg_none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    callback.id_token = Some(alg_none.as_str().into());
    let result = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await;
    assert!(
        matches!(result, Err(Error::IdTokenRejected { ref reason }) if !reason.contains("c_hash") && !reason.contains("nonce")),
        "alg none must be refused: {result:?}"
    );
    callback.id_token = Some(
        moneyhub_sandbox::keys::SigningKey::identity()
            .sign(&claims)
            .into(),
    );
    client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("the control: the same claims signed by the server's key complete");

    // Wrong audience and wrong issuer, signed by the real key.
    let key = moneyhub_sandbox::keys::SigningKey::identity();
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("someone-else");
    assert!(
        client
            .verify_id_token(&key.sign(&wrong_aud), &begun.secrets.nonce)
            .await
            .is_err()
    );
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!("https://evil.example/oidc");
    assert!(
        client
            .verify_id_token(&key.sign(&wrong_iss), &begun.secrets.nonce)
            .await
            .is_err()
    );
    assert!(
        client
            .verify_id_token(&key.sign(&claims), &begun.secrets.nonce)
            .await
            .is_ok(),
        "the control case verifies"
    );
    // Expired (beyond the leeway).
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 3600);
    assert!(
        client
            .verify_id_token(&key.sign(&expired), &begun.secrets.nonce)
            .await
            .is_err()
    );

    // The user cancels at the bank.
    let begun = client.begin(purpose()).await.expect("begin");
    let page = setup
        .sandbox
        .http
        .get(begun.url.as_str())
        .send()
        .await
        .expect("open");
    let interaction = page.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let denied = setup
        .sandbox
        .http
        .post(setup.sandbox.url(&interaction))
        .form(&[("step", "login"), ("action", "deny")])
        .send()
        .await
        .expect("deny");
    let callback = Callback::parse(denied.headers()["location"].to_str().expect("location"))
        .expect("callback");
    let result = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await;
    assert!(
        matches!(result, Err(Error::OAuth { ref error, .. }) if error == "access_denied"),
        "{result:?}"
    );

    // Malformed callbacks.
    assert!(Callback::parse("not a url").is_err());
    assert!(Callback::parse("banklinks://callback?code=a&code=b&state=s").is_err());
    assert!(Callback::parse("banklinks://callback?code=a#code=b").is_err());
}

#[tokio::test]
async fn gets_are_retried_within_bounds_and_errors_are_typed() {
    let setup = Setup::new().await;
    let client = setup.client(setup.config(false));
    let user = client.register_user(None).await.expect("user").user_id;
    // One 503, then the real answer: retried.
    setup
        .sandbox
        .admin(
            Method::PUT,
            "/faults",
            json!([{ "pathPrefix": "/v3/accounts", "status": 503, "times": 1 }]),
        )
        .await;
    assert!(
        client.accounts(&user, None).await.is_ok(),
        "a single 503 is retried"
    );
    // A body that is not JSON is a decode error that repeats none of it (it reaches logs).
    setup
        .sandbox
        .admin(
            Method::PUT,
            "/faults",
            json!([{ "pathPrefix": "/v3/accounts", "malformed": true }]),
        )
        .await;
    assert!(
        matches!(client.accounts(&user, None).await, Err(Error::Decode { ref excerpt, .. }) if excerpt == "[13 bytes withheld; JSON]"),
        "the body's words are not repeated"
    );
    // Persistent 500s give up after the bounded attempts with the Moneyhub code kept.
    setup
        .sandbox
        .admin(
            Method::PUT,
            "/faults",
            json!([{ "pathPrefix": "/v3/accounts", "status": 502 }]),
        )
        .await;
    match client.accounts(&user, None).await {
        Err(Error::Http {
            status,
            code,
            correlation_id,
            ..
        }) => {
            assert_eq!((status, code.as_deref()), (502, Some("ExternalProvider")));
            assert!(correlation_id.is_some());
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
    setup
        .sandbox
        .admin(Method::DELETE, "/faults", serde_json::Value::Null)
        .await;
    // POST /sync is not retried: one injected 500 reaches the caller.
    setup
        .sandbox
        .admin(
            Method::PUT,
            "/faults",
            json!([{ "pathPrefix": "/v3/sync", "status": 500, "times": 1 }]),
        )
        .await;
    assert!(matches!(
        client.sync(&user, "x:y", None).await,
        Err(Error::Http { status: 500, .. })
    ));
}

#[tokio::test]
async fn a_key_rotation_is_followed_by_refetching_the_key_set_once() {
    let setup = Setup::new().await;
    let client = setup.client(setup.config(false));
    let user = client.register_user(None).await.expect("user").user_id;
    // Discovery is fetched now, before the rotation (the keys only when an id_token needs them).
    client.metadata().await.expect("metadata");
    setup
        .sandbox
        .admin(Method::POST, "/keys/rotate", serde_json::Value::Null)
        .await;
    let begun = client
        .begin(Purpose::AddConnection {
            user_id: user,
            bank: BankChoice::Bank(MOCK_BANK.into()),
        })
        .await
        .expect("begin");
    let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    let before = client.requests_sent();
    let done = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("accepted after refetching the keys");
    assert!(done.connection_id.starts_with(MOCK_BANK));
    // The token call, then one key-set fetch for the id_token's key.
    assert_eq!(client.requests_sent() - before, 2);
}

#[tokio::test]
async fn client_tokens_are_cached_per_scope_and_user_and_refresh_tokens_work() {
    let setup = Setup::new().await;
    let client = setup.client(setup.config(false));
    let user = client.register_user(None).await.expect("user").user_id;
    client.connections(&user).await.expect("connections");
    let after_first = client.requests_sent();
    client.connections(&user).await.expect("connections");
    assert_eq!(
        client.requests_sent() - after_first,
        1,
        "the cached token is reused: one request"
    );
    // Four tasks wanting a token for a new scope at once share one token request.
    let before = client.requests_sent();
    let scope = "accounts:read transactions:read:all";
    let tokens = tokio::join!(
        client.client_token(scope, Some(&user)),
        client.client_token(scope, Some(&user)),
        client.client_token(scope, Some(&user)),
        client.client_token(scope, Some(&user)),
    );
    for token in [tokens.0, tokens.1, tokens.2, tokens.3] {
        token.expect("token");
    }
    assert_eq!(
        client.requests_sent() - before,
        1,
        "single flight per scope"
    );
    // Two hours later the token has expired: a new one is fetched.
    setup.advance("2h", 7200).await;
    let before = client.requests_sent();
    client.connections(&user).await.expect("connections");
    assert_eq!(
        client.requests_sent() - before,
        2,
        "a new token, then the call"
    );

    // offline_access: the refresh token gives a new access token.
    let mut config = setup.config(false);
    config.offline_access = true;
    let offline = setup.client(config);
    let begun = offline
        .begin(Purpose::AddConnection {
            user_id: user.clone(),
            bank: BankChoice::Bank(MOCK_BANK.into()),
        })
        .await
        .expect("begin");
    let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    let done = offline
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("complete");
    let refresh = done
        .refresh_token
        .expect("a refresh token with offline_access");
    let renewed = offline
        .refresh_access_token(&refresh)
        .await
        .expect("refreshed");
    assert_ne!(renewed.expose(), done.access_token.expose());
    assert!(
        matches!(offline.refresh_access_token(&"not-a-token".into()).await, Err(Error::OAuth { ref error, .. }) if error == "invalid_grant")
    );
}

#[tokio::test]
/// The refusal is a 403 as sent (Moneyhub's words for it are not published, so the client reads
/// none); the connection's own fields say why.
async fn syncing_an_expired_connection_is_refused_and_its_fields_say_why() {
    let setup = Setup::new().await;
    let client = setup.client(setup.config(false));
    let user = client.register_user(None).await.expect("user").user_id;
    let begun = client
        .begin(Purpose::AddConnection {
            user_id: user.clone(),
            bank: BankChoice::Bank(MOCK_BANK.into()),
        })
        .await
        .expect("begin");
    let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    let done = client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("complete");
    setup.advance("91d", 91 * 86_400).await;
    let result = client.sync(&user, &done.connection_id, None).await;
    assert!(
        matches!(result, Err(Error::Http { status: 403, .. })),
        "{result:?}"
    );
    let connection = client
        .connections(&user)
        .await
        .expect("connections")
        .into_iter()
        .next()
        .expect("one");
    assert_eq!(
        connection.extended_status,
        Some(moneyhub::models::ExtendedStatus::Expired)
    );
}

/// RFC 9207 and RFC 6749 §4.1.2: a server that advertises `iss` in responses must send it, and
/// a `code` answer comes in the query. Neither check may spend the code: the control completes.
#[tokio::test]
async fn an_answer_without_iss_or_in_the_fragment_is_refused_before_the_code_is_spent() {
    let setup = Setup::new().await;
    let client = setup.client(setup.config(false));
    let user = client.register_user(None).await.expect("user").user_id;
    let begun = client
        .begin(Purpose::AddConnection {
            user_id: user,
            bank: BankChoice::Bank(MOCK_BANK.into()),
        })
        .await
        .expect("begin");
    let callback_url = setup.journey(&begun.url, &[]).await;
    let callback = Callback::parse(&callback_url).expect("callback");
    assert!(callback.iss.is_some() && !callback.in_fragment);

    let mut without_iss = callback.clone();
    without_iss.iss = None;
    let result = client
        .complete(&begun.pending, &begun.secrets, &without_iss)
        .await;
    assert!(
        matches!(result, Err(Error::MalformedCallback(ref why)) if why.contains("iss")),
        "{result:?}"
    );

    let moved = Callback::parse(&callback_url.replacen('?', "#", 1)).expect("fragment");
    assert!(moved.in_fragment);
    let result = client
        .complete(&begun.pending, &begun.secrets, &moved)
        .await;
    assert!(
        matches!(result, Err(Error::MalformedCallback(ref why)) if why.contains("fragment")),
        "{result:?}"
    );

    client
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("the untouched answer completes");
}

/// RFC 9207 §2.4: a hybrid answer names its issuer in its id_token, so it needs no `iss` beside
/// it (node-oidc-provider sends none), is judged by its `c_hash` when its code was swapped, and
/// is still refused when an `iss` beside it names another server. Under either reading of the
/// server (with or without `iss`) the untouched answer completes.
#[tokio::test]
async fn a_hybrid_answer_is_judged_by_its_id_token_with_or_without_iss() {
    let setup = Setup::new().await;
    let mut config = setup.config(true);
    config.response_type = ResponseType::CodeIdToken;
    let client = setup.client(config);
    let user = client.register_user(None).await.expect("user").user_id;
    for iss_beside_id_token in [false, true] {
        setup
            .play("issBesideIdToken", json!(iss_beside_id_token))
            .await;
        let begun = client
            .begin(Purpose::AddConnection {
                user_id: user.clone(),
                bank: BankChoice::Bank(MOCK_BANK.into()),
            })
            .await
            .expect("begin");
        let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
        assert_eq!(callback.iss.is_some(), iss_beside_id_token);

        let mut swapped_code = callback.clone();
        swapped_code.code = Some(moneyhub::Secret::new("another-code".to_string()));
        let result = client
            .complete(&begun.pending, &begun.secrets, &swapped_code)
            .await;
        assert!(
            matches!(result, Err(Error::IdTokenRejected { ref reason }) if reason.contains("c_hash")),
            "{result:?}"
        );

        let mut other_server = callback.clone();
        other_server.iss = Some("https://elsewhere.example".into());
        let result = client
            .complete(&begun.pending, &begun.secrets, &other_server)
            .await;
        assert!(
            matches!(result, Err(Error::IdTokenRejected { ref reason }) if reason.contains("iss")),
            "{result:?}"
        );

        let mut without_id_token = callback.clone();
        without_id_token.id_token = None;
        without_id_token.iss = None;
        let result = client
            .complete(&begun.pending, &begun.secrets, &without_id_token)
            .await;
        assert!(
            matches!(result, Err(Error::MalformedCallback(ref why)) if why.contains("iss")),
            "a hybrid answer without its id_token names no issuer: {result:?}"
        );

        client
            .complete(&begun.pending, &begun.secrets, &callback)
            .await
            .expect("the untouched answer completes");
    }
}

/// Moneyhub's Node client and its API reference name different scopes for updating and
/// deleting a connection, reading syncs and deleting a user (`moneyhub-api.md` §4.2). The
/// sandbox plays each (or either), and a client may be registered for only one source's names:
/// every call still works wherever one reading fits the registration.
#[tokio::test]
async fn identity_calls_work_under_either_scope_reading_and_either_registration() {
    let setup = Setup::new().await;
    let node_client = [
        "user:create",
        "user:read",
        "user:delete",
        "connection:read",
        "connection:update",
        "connection:delete",
    ];
    let api_reference = [
        "user:create",
        "user:read",
        "user:update",
        "user:delete",
        "connection:read",
    ];
    let cases: [(&str, Option<&[&str]>); 5] = [
        ("apiReference", None),
        ("nodeClient", None),
        ("either", Some(&api_reference)),
        ("apiReference", Some(&api_reference)),
        ("nodeClient", Some(&node_client)),
    ];
    for (n, (reading, registered)) in cases.into_iter().enumerate() {
        setup.play("routeScopes", json!(reading)).await;
        let client = match registered {
            None => setup.client(setup.config(false)),
            Some(scopes) => {
                let client_id = format!("registered-{n}");
                setup
                    .sandbox
                    .admin(
                        Method::POST,
                        "/clients",
                        json!({
                            "clientId": client_id, "clientSecret": "registered-secret",
                            "redirectUris": [DEMO_REDIRECT_URI],
                            "tokenEndpointAuthMethod": "client_secret_basic",
                            "scopes": scopes,
                        }),
                    )
                    .await;
                let mut config = setup.config(false);
                config.client_id = client_id;
                config.auth = ClientAuth::SecretBasic {
                    secret: "registered-secret".into(),
                };
                setup.client(config)
            }
        };
        let case = format!("{reading} reading, registered for {registered:?}");
        let user = client.register_user(None).await.expect(&case).user_id;
        let begun = client
            .begin(Purpose::AddConnection {
                user_id: user.clone(),
                bank: BankChoice::Bank(MOCK_BANK.into()),
            })
            .await
            .expect(&case);
        let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect(&case);
        let connection = client
            .complete(&begun.pending, &begun.secrets, &callback)
            .await
            .expect(&case)
            .connection_id;
        client
            .update_connection_expiry(
                &user,
                &connection,
                harness::start_time() + chrono::Duration::days(30),
            )
            .await
            .unwrap_or_else(|err| panic!("{case}: update: {err}"));
        let syncs = client
            .connection_syncs(&user, &connection)
            .await
            .unwrap_or_else(|err| panic!("{case}: syncs: {err}"));
        if let Some(sync) = syncs.first() {
            client
                .sync_run(&user, &sync.id)
                .await
                .unwrap_or_else(|err| panic!("{case}: one sync: {err}"));
        }
        client
            .delete_connection(&user, &connection)
            .await
            .unwrap_or_else(|err| panic!("{case}: delete connection: {err}"));
        client
            .delete_user(&user)
            .await
            .unwrap_or_else(|err| panic!("{case}: delete user: {err}"));
    }
}

/// A `client_secret_basic` client registered for RS256 request objects cannot sign one and
/// the server refuses an unsigned one; PAR with plain form parameters still authorizes.
#[tokio::test]
async fn par_with_plain_parameters_serves_a_basic_client_the_server_wants_signed_objects_from() {
    let setup = Setup::new().await;
    setup
        .sandbox
        .admin(
            Method::POST,
            "/clients",
            json!({
                "clientId": "strict-basic", "clientSecret": "strict-secret",
                "redirectUris": [DEMO_REDIRECT_URI],
                "tokenEndpointAuthMethod": "client_secret_basic",
                "requestObjectSigningAlg": "RS256"
            }),
        )
        .await;
    let config = |signing| {
        let mut config = Config::new(
            url::Url::parse(&setup.sandbox.running.identity_url()).expect("url"),
            url::Url::parse(&setup.sandbox.running.api_url()).expect("url"),
            "strict-basic",
            ClientAuth::SecretBasic {
                secret: "strict-secret".into(),
            },
            DEMO_REDIRECT_URI,
        );
        config.request_object_signing = signing;
        config
    };
    let unsigned = setup.client(config(RequestObjectSigning::None));
    let user = unsigned.register_user(None).await.expect("user").user_id;
    let purpose = || Purpose::AddConnection {
        user_id: user.clone(),
        bank: BankChoice::Bank(MOCK_BANK.into()),
    };
    let refused = unsigned.begin(purpose()).await;
    assert!(
        matches!(refused, Err(Error::OAuth { ref error, .. }) if error == "invalid_request_object"),
        "{refused:?}"
    );

    let plain = setup.client(config(RequestObjectSigning::Plain));
    let begun = plain.begin(purpose()).await.expect("plain PAR");
    let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
    let done = plain
        .complete(&begun.pending, &begun.secrets, &callback)
        .await
        .expect("complete");
    assert!(done.connection_id.starts_with(MOCK_BANK));

    // The pushed request belongs to its client: another client_id beside it is refused.
    let begun = plain.begin(purpose()).await.expect("plain PAR");
    let mut forged = begun.url.clone();
    let pairs: Vec<(String, String)> = begun
        .url
        .query_pairs()
        .into_owned()
        .map(|(name, value)| match name.as_str() {
            "client_id" => (name, DEMO_CLIENT_ID.to_string()),
            _ => (name, value),
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let answer = setup
        .sandbox
        .http
        .get(forged.as_str())
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), reqwest::StatusCode::BAD_REQUEST);
}

/// The shape Moneyhub's published Data API schema gives a regular transaction (amount objects,
/// `type` `payment` or `income`) parses; the bare-number shape an earlier client and sandbox
/// agreed on, which no real response has, does not.
#[test]
fn regular_transactions_have_the_published_shape() {
    let published = json!({
        "seriesId": "5f3c2b1a-0000-4000-8000-000000000001",
        "accountId": "ac9bd177-d01e-4b9a-9d2e-0a8b5c1d2e3f",
        "type": "payment",
        "description": "NETFLIX.COM",
        "cleanedDescription": "Netflix",
        "counterpartyId": "global:8b5b1d8f",
        "frequency": "monthly",
        "numTxMatchedInSeries": 6,
        "gapLengthInFreqUnits": 1,
        "dateAnomaliesCount": 0,
        "numReturnedTxs": 6,
        "lastDate": "2026-11-03",
        "predictedDate": "2026-12-03",
        "predictedDateEarliest": "2026-12-01",
        "predictedDateLatest": "2026-12-05",
        "predictedTxLateOrNotDetected": false,
        "predictedAmount": { "value": -1099, "currency": "GBP" },
        "predictedAmountLower": { "value": -1099, "currency": "GBP" },
        "predictedAmountUpper": { "value": -1299, "currency": "GBP" },
        "predictedCategoryId": "std:4b0255f0-0309-4509-9e05-4b4e386e57d3",
        "transactions": ["t1", "t2", "t3", "t4", "t5", "t6"]
    });
    let parsed: moneyhub::models::RegularTransaction =
        serde_json::from_value(published.clone()).expect("the published shape");
    assert_eq!(parsed.kind, "payment");
    assert_eq!(parsed.predicted_amount.value, -1099);
    assert_eq!(parsed.predicted_amount_upper.map(|a| a.value), Some(-1299));
    assert_eq!(parsed.predicted_tx_late_or_not_detected, Some(false));

    let mut bare = published;
    bare["predictedAmount"] = json!(-1099);
    assert!(serde_json::from_value::<moneyhub::models::RegularTransaction>(bare).is_err());
}

/// Every account of the user in one request, each saying its connection: what the app's
/// refresh asks instead of one request per connection.
#[tokio::test]
async fn all_accounts_come_in_one_request_with_their_connections() {
    let setup = Setup::new().await;
    let client = setup.client(setup.config(false));
    let user = client.register_user(None).await.expect("user").user_id;
    let mut connections = Vec::new();
    for _ in 0..2 {
        let begun = client
            .begin(Purpose::AddConnection {
                user_id: user.clone(),
                bank: BankChoice::Bank(MOCK_BANK.into()),
            })
            .await
            .expect("begin");
        let callback = Callback::parse(&setup.journey(&begun.url, &[]).await).expect("callback");
        let done = client
            .complete(&begun.pending, &begun.secrets, &callback)
            .await
            .expect("complete");
        connections.push(done.connection_id);
    }
    let mut separately = Vec::new();
    for connection in &connections {
        separately.extend(
            client
                .accounts(&user, Some(connection))
                .await
                .expect("accounts")
                .into_iter()
                .map(|a| (a.connection_id.clone().expect("connectionId"), a.id)),
        );
    }
    let before = client.requests_sent();
    let mut together: Vec<(String, String)> = client
        .all_accounts(&user)
        .await
        .expect("all accounts")
        .into_iter()
        .map(|a| (a.connection_id.clone().expect("connectionId"), a.id))
        .collect();
    assert_eq!(client.requests_sent() - before, 1, "one request");
    separately.sort();
    together.sort();
    assert!(separately.len() >= 2, "{separately:?}");
    assert_eq!(together, separately);
}
