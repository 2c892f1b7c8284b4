//! Drives a sandbox over real HTTP the way a client and a person at the browser would: the
//! harness the sandbox's own tests, the client's and the app core's share. Only built with the
//! `test-support` feature, which those crates enable in their dev-dependencies, so nothing of it
//! reaches the app.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeZone, Utc};
use reqwest::{Client, StatusCode, redirect};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clients::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_JWT_CLIENT_ID, DEMO_REDIRECT_URI};
use crate::keys::SigningKey;
use crate::{RunningSandbox, SandboxConfig};

/// A number no other call in this test process gets (for `jti`s).
pub fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Monday 2 March 2026, 09:00 UK (GMT).
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid date")
}

#[derive(Debug)]
pub struct Sandbox {
    pub running: RunningSandbox,
    pub http: Client,
    pub base: String,
    pub issuer: String,
}

#[derive(Debug)]
pub enum Style {
    Pushed,
    ByValue,
    Plain,
}

#[derive(Debug)]
pub struct AuthOptions<'a> {
    pub client_id: &'a str,
    pub scope: &'a str,
    pub claims: Value,
    pub response_type: &'a str,
    pub style: Style,
    pub state: &'a str,
    pub nonce: &'a str,
    pub verifier: Option<&'a str>,
    pub extra: Vec<(&'a str, &'a str)>,
}

impl<'a> AuthOptions<'a> {
    pub fn new(scope: &'a str, claims: Value) -> Self {
        Self {
            client_id: DEMO_CLIENT_ID,
            scope,
            claims,
            response_type: "code",
            style: Style::Pushed,
            state: "state-123",
            nonce: "nonce-456",
            verifier: Some("a-pkce-verifier-that-is-long-enough-to-be-valid-0123456789"),
            extra: Vec::new(),
        }
    }
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The parameters the client got back on its redirect URI.
#[derive(Debug)]
pub struct Callback {
    pub params: HashMap<String, String>,
    pub in_fragment: bool,
}

impl Callback {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

pub fn parse_callback(location: &str) -> Callback {
    assert!(
        location.starts_with(DEMO_REDIRECT_URI),
        "redirected to {location}"
    );
    let (rest, in_fragment) = match location.split_once('#') {
        Some((_, fragment)) => (fragment.to_string(), true),
        None => (
            location
                .split_once('?')
                .map(|(_, q)| q.to_string())
                .unwrap_or_default(),
            false,
        ),
    };
    Callback {
        params: url::form_urlencoded::parse(rest.as_bytes())
            .into_owned()
            .collect(),
        in_fragment,
    }
}

impl Sandbox {
    pub async fn start() -> Self {
        Self::start_with(SandboxConfig {
            manual_clock_start: Some(start_time()),
            ..SandboxConfig::default()
        })
        .await
    }

    pub async fn start_with(config: SandboxConfig) -> Self {
        let running = RunningSandbox::start(config)
            .await
            .expect("start the sandbox");
        let base = running.identity_url();
        let http = Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            issuer: format!("{base}/oidc"),
            running,
            http,
            base,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn basic() -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}"))
        )
    }

    /// A fresh `private_key_jwt` assertion for the demo JWT client.
    pub fn client_assertion(&self, jti: &str) -> String {
        let now = self.running.shared.now().timestamp();
        SigningKey::demo_client().sign(&json!({
            "iss": DEMO_JWT_CLIENT_ID, "sub": DEMO_JWT_CLIENT_ID, "aud": format!("{}/token", self.issuer),
            "jti": jti, "iat": now, "exp": now + 300,
        }))
    }

    /// An admin request carrying this sandbox's token, to send as it is or spoil.
    pub fn admin_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(&format!("/__sandbox{path}")))
            .bearer_auth(&self.running.shared.config.admin_token)
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .admin_request(method, path)
            .json(&body)
            .send()
            .await
            .expect("admin call");
        let status = response.status();
        let text = response.text().await.expect("admin body");
        assert!(status.is_success(), "admin {path}: {status} {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("admin json")
        }
    }

    pub async fn advance(&self, by: &str) {
        self.admin(reqwest::Method::POST, "/clock", json!({ "advance": by }))
            .await;
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/oidc/token"))
            .header("authorization", Self::basic())
            .form(form)
            .send()
            .await
            .expect("token call");
        let status = response.status();
        (status, response.json().await.expect("token json"))
    }

    pub async fn cc_token(&self, scope: &str, sub: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials"), ("scope", scope)];
        if let Some(sub) = sub {
            form.push(("sub", sub));
        }
        let (status, body) = self.token(&form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub async fn create_user(&self) -> String {
        let token = self.cc_token("user:create", None).await;
        let response = self
            .http
            .post(self.url("/users"))
            .bearer_auth(token)
            .json(&json!({ "clientUserId": "test-user" }))
            .send()
            .await
            .expect("create user");
        assert_eq!(response.status(), StatusCode::CREATED);
        let user: Value = response.json().await.expect("user json");
        user["userId"].as_str().expect("userId").to_string()
    }

    pub async fn get_json(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn connections(&self, user: &str) -> Vec<Value> {
        let token = self.cc_token("connection:read", None).await;
        let (status, body) = self
            .get_json(&format!("/users/{user}/connections"), &token)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].as_array().cloned().expect("connection list")
    }

    pub async fn connection(&self, user: &str, id: &str) -> Value {
        self.connections(user)
            .await
            .into_iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no connection {id}"))
    }

    /// Starts an authorization request; returns the response of `GET /oidc/auth`.
    pub async fn begin(&self, options: &AuthOptions<'_>) -> reqwest::Response {
        let mut params: Vec<(String, String)> = vec![
            ("client_id".into(), options.client_id.into()),
            ("redirect_uri".into(), DEMO_REDIRECT_URI.into()),
            ("response_type".into(), options.response_type.into()),
            ("scope".into(), options.scope.into()),
            ("state".into(), options.state.into()),
            ("nonce".into(), options.nonce.into()),
            ("prompt".into(), "consent".into()),
        ];
        if let Some(verifier) = options.verifier {
            params.push(("code_challenge".into(), challenge(verifier)));
            params.push(("code_challenge_method".into(), "S256".into()));
        }
        for (name, value) in &options.extra {
            params.retain(|(n, _)| n != name);
            params.push(((*name).into(), (*value).into()));
        }
        let now = self.running.shared.now().timestamp();
        let object = || {
            let mut claims = serde_json::Map::new();
            for (name, value) in &params {
                claims.insert(name.clone(), json!(value));
            }
            claims.insert("claims".into(), options.claims.clone());
            claims.insert("iss".into(), json!(options.client_id));
            claims.insert("aud".into(), json!(self.issuer));
            claims.insert("exp".into(), json!(now + 300));
            claims.insert("iat".into(), json!(now));
            claims.insert("jti".into(), json!(format!("jti-{}", unique())));
            Value::Object(claims)
        };
        let sign = |claims: &Value| {
            if options.client_id == DEMO_JWT_CLIENT_ID {
                SigningKey::demo_client().sign(claims)
            } else {
                let header =
                    URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"oauth-authz-req+jwt"}"#);
                format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
            }
        };
        let url = match options.style {
            Style::Plain => {
                params.push(("claims".into(), options.claims.to_string()));
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(params)
                    .finish();
                self.url(&format!("/oidc/auth?{query}"))
            }
            Style::ByValue => {
                let request = sign(&object());
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("client_id", options.client_id)
                    .append_pair("request", &request)
                    .finish();
                self.url(&format!("/oidc/auth?{query}"))
            }
            Style::Pushed => {
                let request = sign(&object());
                let mut form = vec![
                    ("request".to_string(), request),
                    ("client_id".to_string(), options.client_id.to_string()),
                ];
                let mut builder = self.http.post(self.url("/oidc/request"));
                if options.client_id == DEMO_JWT_CLIENT_ID {
                    form.push((
                        "client_assertion_type".into(),
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                    ));
                    form.push((
                        "client_assertion".into(),
                        self.client_assertion(&format!("par-{}", unique())),
                    ));
                } else {
                    builder = builder.header("authorization", Self::basic());
                }
                let response = builder.form(&form).send().await.expect("PAR");
                assert_eq!(
                    response.status(),
                    StatusCode::CREATED,
                    "PAR failed: {:?}",
                    response.text().await
                );
                let body: Value = response.json().await.expect("PAR json");
                assert!(
                    body["request_uri"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("urn:ietf:params:oauth:request_uri:"))
                );
                assert!(body["expires_in"].as_i64().is_some_and(|e| e > 0));
                let uri = body["request_uri"].as_str().expect("request_uri");
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("request_uri", uri)
                    .finish();
                self.url(&format!("/oidc/auth?{query}"))
            }
        };
        self.http.get(url).send().await.expect("authorize")
    }

    /// Walks the journey pages from `response`, submitting each form as prefilled (with
    /// `choose` overriding fields), until the sandbox redirects to the client.
    pub async fn walk(
        &self,
        mut response: reqwest::Response,
        choose: &[(&str, &str)],
        visited: &mut Vec<String>,
    ) -> Callback {
        for _ in 0..10 {
            if response.status() == StatusCode::SEE_OTHER {
                let location = response.headers()["location"]
                    .to_str()
                    .expect("location")
                    .to_string();
                if location.starts_with(DEMO_REDIRECT_URI) {
                    return parse_callback(&location);
                }
                response = self
                    .http
                    .get(self.url(&location))
                    .send()
                    .await
                    .expect("follow");
                continue;
            }
            assert_eq!(response.status(), StatusCode::OK, "journey page failed");
            let page_url = response.url().path().to_string();
            let html = response.text().await.expect("page");
            let form = post_form(&html).expect("a form on the page");
            visited.push(form.step.clone());
            let mut fields: Vec<(String, String)> = form.fields;
            for (name, value) in choose {
                if fields.iter().any(|(n, _)| n == name) || *name == "bank" || *name == "account" {
                    if *name != "account" {
                        fields.retain(|(n, _)| n != name);
                    }
                    fields.push(((*name).into(), (*value).into()));
                }
            }
            fields.push(("action".into(), "continue".into()));
            response = self
                .http
                .post(self.url(&page_url))
                .form(&fields)
                .send()
                .await
                .expect("submit");
        }
        panic!("the journey did not end");
    }

    pub async fn exchange(
        &self,
        code: &str,
        verifier: Option<&str>,
        sub: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", DEMO_REDIRECT_URI),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        if let Some(sub) = sub {
            form.push(("sub", sub));
        }
        self.token(&form).await
    }

    pub async fn verify_id_token(&self, token: &str) -> Value {
        let (_, jwks) = self.get_json("/oidc/certs", "").await;
        let claims = crate::keys::verify_with_jwks(token, &jwks)
            .expect("id_token verifies against the JWKS");
        assert_eq!(claims["iss"], self.issuer);
        claims
    }

    /// Adds a connection to `user` at `bank_id` through PAR, returning its id.
    pub async fn add_connection(&self, user: &str, bank_id: &str) -> String {
        let scope = format!("openid id:{bank_id}");
        let options = AuthOptions::new(
            &scope,
            json!({ "id_token": { "sub": { "essential": true, "value": user }, "mh:con_id": { "essential": true } } }),
        );
        let response = self.begin(&options).await;
        let callback = self.walk(response, &[], &mut Vec::new()).await;
        let code = callback.get("code").expect("code");
        let (status, tokens) = self.exchange(code, options.verifier, Some(user)).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let claims = self
            .verify_id_token(tokens["id_token"].as_str().expect("id_token"))
            .await;
        claims["mh:con_id"].as_str().expect("mh:con_id").to_string()
    }

    pub async fn bank_id(&self, name: &str) -> String {
        let banks = self
            .admin(reqwest::Method::GET, "/banks", Value::Null)
            .await;
        banks
            .as_array()
            .expect("banks")
            .iter()
            .find(|b| b["name"] == name)
            .and_then(|b| b["id"].as_str())
            .expect("bank")
            .to_string()
    }
}

#[derive(Debug)]
pub struct Form {
    pub step: String,
    pub fields: Vec<(String, String)>,
}

/// The first POST form on a page, with its journey step.
pub fn post_form(html: &str) -> Option<Form> {
    let fields = crate::journey::post_form_fields(html)?;
    let step = fields
        .iter()
        .find(|(n, _)| n == "step")
        .map(|(_, v)| v.clone())?;
    Some(Form { step, fields })
}

pub fn new_connection_claims(user: Option<&str>) -> Value {
    match user {
        Some(user) => {
            json!({ "id_token": { "sub": { "essential": true, "value": user }, "mh:con_id": { "essential": true } } })
        }
        None => {
            json!({ "id_token": { "sub": { "essential": true }, "mh:con_id": { "essential": true } } })
        }
    }
}

pub fn lifecycle_claims(user: &str, connection: &str) -> Value {
    json!({ "id_token": { "sub": { "essential": true, "value": user }, "mh:con_id": { "essential": true, "value": connection } } })
}

/// The sandbox's whole HTTP surface as a service, for driving it in-process (fuzzing sends
/// hundreds of thousands of requests; a socket per request would measure the kernel).
pub fn router(shared: std::sync::Arc<crate::Shared>) -> axum::Router {
    crate::server::router(shared)
}

/// A count a long-running test takes from the environment (`BANKLINKS_FUZZ_CASES`, …), so CI
/// runs a few and `scripts/attack` the full number.
pub fn count_from_env(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
