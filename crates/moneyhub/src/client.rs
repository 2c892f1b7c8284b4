//! The client: discovery, the HTTP seam with bounded retries, client authentication and the
//! client-credentials token cache.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, HttpRequest, HttpResponse, IssuerUrl, ProviderMetadata,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::{Mutex, OnceCell, RwLock};

use crate::config::{ClientAuth, Config};
use crate::error::{Error, excerpt};
use crate::secret::Secret;

/// Moneyhub's discovery fields beyond the OIDC core ones.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MoneyhubMetadata {
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9207: the server puts `iss` in every authorization response, so one without it is
    /// not from this server.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}
impl AdditionalProviderMetadata for MoneyhubMetadata {}

pub type Metadata = ProviderMetadata<
    MoneyhubMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Time and randomness, injected so flows can be replayed in tests.
pub trait Environment: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
    fn fill_random(&self, buf: &mut [u8]);
}

#[derive(Debug, Default)]
pub struct SystemEnvironment;

impl Environment for SystemEnvironment {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn fill_random(&self, buf: &mut [u8]) {
        use rand::TryRngCore;
        // The OS generator; a failure here is unrecoverable, so fall back to nothing weaker.
        rand::rngs::OsRng
            .try_fill_bytes(buf)
            .expect("the operating system's random generator failed");
    }
}

/// Retries for idempotent GETs: at most this many attempts, within this much total waiting.
const MAX_ATTEMPTS: u32 = 3;
const MAX_RETRY_WAIT: Duration = Duration::from_secs(20);
/// A cached token is replaced this long before it expires.
const TOKEN_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

#[derive(Debug, Clone)]
struct CachedToken {
    token: Secret,
    expires: DateTime<Utc>,
}

/// A client-credentials token's scopes (sorted) and user.
type TokenKey = (String, Option<String>);

/// The Moneyhub client. Cheap to share behind an `Arc`; one `reqwest::Client` (keep-alive)
/// serves every call.
#[derive(Debug)]
pub struct Moneyhub {
    pub(crate) config: Config,
    pub(crate) http: reqwest::Client,
    pub(crate) env: Arc<dyn Environment>,
    metadata: OnceCell<Metadata>,
    pub(crate) jwks: RwLock<Option<CoreJsonWebKeySet>>,
    tokens: Mutex<HashMap<TokenKey, CachedToken>>,
    /// One lock per scope and user: tasks wanting the same token at once wait for the first
    /// one's request instead of each making their own (single flight).
    token_flights: Mutex<HashMap<TokenKey, Arc<Mutex<()>>>>,
    requests: std::sync::atomic::AtomicU64,
}

impl Moneyhub {
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::with_environment(config, Arc::new(SystemEnvironment))
    }

    pub fn with_environment(config: Config, env: Arc<dyn Environment>) -> Result<Self, Error> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            // Token and PAR answers must never be followed somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| Error::Config(format!("could not build the HTTP client: {err}")))?;
        Ok(Self {
            config,
            http,
            env,
            metadata: OnceCell::new(),
            jwks: RwLock::new(None),
            tokens: Mutex::new(HashMap::new()),
            token_flights: Mutex::new(HashMap::new()),
            requests: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// HTTP requests this client has sent (for benchmarks and tests of caching).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_request(&self) {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Discovery (fetched once): the endpoints. The signing keys are fetched the first time an
    /// id_token needs them (see `refresh_jwks`), so a client that only reads data (the poller,
    /// every refresh) never asks for them.
    pub async fn metadata(&self) -> Result<&Metadata, Error> {
        self.metadata
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(self.config.issuer())
                    .map_err(|err| Error::Config(err.to_string()))?;
                let metadata = self.discover(&issuer).await?;
                check_endpoints(&metadata)?;
                Ok(metadata)
            })
            .await
    }

    /// What openidconnect's `discover_async` checks (status, JSON, the issuer it names), without
    /// its key-set fetch.
    async fn discover(&self, issuer: &IssuerUrl) -> Result<Metadata, Error> {
        let url = issuer
            .join(".well-known/openid-configuration")
            .map_err(|err| Error::Discovery(err.to_string()))?;
        self.count_request();
        let response = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| Error::Discovery(describe(&err)))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(Error::Discovery(format!(
                "Server returned error response: HTTP status code {status} at {url}"
            )));
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .split(';')
                    .next()
                    .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(Error::Discovery(format!(
                "the discovery document at {url} is not JSON"
            )));
        }
        let body = response
            .bytes()
            .await
            .map_err(|err| Error::Discovery(describe(&err)))?;
        let metadata: Metadata = serde_json::from_slice(&body)
            .map_err(|err| Error::Discovery(format!("Failed to parse server response: {err}")))?;
        if metadata.issuer() != issuer {
            return Err(Error::Discovery(format!(
                "Validation error: unexpected issuer URI `{}` (expected `{}`)",
                metadata.issuer().as_str(),
                issuer.as_str()
            )));
        }
        Ok(metadata)
    }

    /// Fetches the key set again (after a rotation).
    pub(crate) async fn refresh_jwks(&self) -> Result<CoreJsonWebKeySet, Error> {
        let metadata = self.metadata().await?;
        let http = OidcHttp {
            http: &self.http,
            requests: &self.requests,
        };
        let keys = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &http)
            .await
            .map_err(|err| Error::Discovery(describe(&err)))?;
        *self.jwks.write().await = Some(keys.clone());
        Ok(keys)
    }

    pub(crate) fn random_token(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.env.fill_random(&mut buf);
        URL_SAFE_NO_PAD.encode(buf)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.env.now()
    }

    /// The client's clock (its injected environment), so callers judge time the same way.
    pub fn now_for_flows(&self) -> DateTime<Utc> {
        self.env.now()
    }

    /// Adds client authentication to a token or PAR request.
    pub(crate) fn authenticate(
        &self,
        request: reqwest::RequestBuilder,
        form: &mut Vec<(String, String)>,
        audience: &str,
    ) -> Result<reqwest::RequestBuilder, Error> {
        match &self.config.auth {
            ClientAuth::SecretBasic { secret } => {
                let encode = |text: &str| {
                    url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
                };
                let credentials = STANDARD.encode(format!(
                    "{}:{}",
                    encode(&self.config.client_id),
                    encode(secret.expose())
                ));
                Ok(request.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Basic {credentials}"),
                ))
            }
            ClientAuth::PrivateKeyJwt { key } => {
                let now = self.now().timestamp();
                let assertion = key.sign(
                    &json!({
                        "iss": self.config.client_id, "sub": self.config.client_id, "aud": audience,
                        "jti": self.random_token(24), "iat": now, "exp": now + 300,
                    }),
                    None,
                )?;
                form.push((
                    "client_assertion_type".into(),
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion".into(), assertion));
                Ok(request)
            }
        }
    }

    /// POSTs a form to the token endpoint with client authentication. Never retried: a code or
    /// an assertion must not be sent twice.
    pub(crate) async fn token_request(
        &self,
        mut form: Vec<(String, String)>,
    ) -> Result<Value, Error> {
        let endpoint = self
            .metadata()
            .await?
            .token_endpoint()
            .map(|u| u.url().to_string())
            .ok_or_else(|| Error::Discovery("no token endpoint".into()))?;
        let request = self.authenticate(self.http.post(&endpoint), &mut form, &endpoint)?;
        self.count_request();
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(Error::from_reqwest)?;
        let status = response.status();
        let body = response.bytes().await.map_err(Error::from_reqwest)?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|err| Error::Decode {
                what: "token response",
                reason: err.to_string(),
                excerpt: "[token body withheld]".into(),
            });
        }
        Err(oauth_error(status.as_u16(), &body))
    }

    /// A client-credentials access token for `scope` (and `sub`), cached until a minute before
    /// it expires.
    pub async fn client_token(&self, scope: &str, sub: Option<&str>) -> Result<Secret, Error> {
        let mut scopes: Vec<&str> = scope.split_whitespace().collect();
        scopes.sort_unstable();
        let key = (scopes.join(" "), sub.map(str::to_string));
        if let Some(token) = self.cached_token(&key).await {
            return Ok(token);
        }
        let flight = Arc::clone(
            self.token_flights
                .lock()
                .await
                .entry(key.clone())
                .or_default(),
        );
        let _only_one = flight.lock().await;
        // Whoever held the flight before us may have fetched it.
        if let Some(token) = self.cached_token(&key).await {
            return Ok(token);
        }
        let now = self.now();
        let mut form = vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("scope".to_string(), key.0.clone()),
        ];
        if let Some(sub) = sub {
            form.push(("sub".into(), sub.into()));
        }
        let body = self.token_request(form).await?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Decode {
                what: "access_token",
                reason: "missing".into(),
                excerpt: String::new(),
            })?;
        let lifetime = body
            .get("expires_in")
            .and_then(Value::as_i64)
            .unwrap_or(300);
        let cached = CachedToken {
            token: Secret::new(token),
            expires: now + chrono::Duration::seconds(lifetime),
        };
        self.tokens.lock().await.insert(key, cached.clone());
        Ok(cached.token)
    }

    async fn cached_token(&self, key: &TokenKey) -> Option<Secret> {
        let now = self.now();
        self.tokens
            .lock()
            .await
            .get(key)
            .filter(|cached| cached.expires - TOKEN_MARGIN > now)
            .map(|cached| cached.token.clone())
    }

    /// A new access token from a refresh token (granted with `offline_access`).
    pub async fn refresh_access_token(&self, refresh_token: &Secret) -> Result<Secret, Error> {
        let form = vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            (
                "refresh_token".to_string(),
                refresh_token.expose().to_string(),
            ),
        ];
        let body = self.token_request(form).await?;
        body.get("access_token")
            .and_then(Value::as_str)
            .map(Secret::new)
            .ok_or_else(|| Error::Decode {
                what: "access_token",
                reason: "missing".into(),
                excerpt: String::new(),
            })
    }

    /// Forgets cached tokens for `sub` (e.g. after a user is deleted).
    pub async fn forget_tokens(&self, sub: Option<&str>) {
        self.tokens
            .lock()
            .await
            .retain(|(_, s), _| s.as_deref() != sub);
    }

    /// A GET with a bearer token, retried on 429, 5xx and timeouts with backoff that honours
    /// `Retry-After`, bounded in attempts and total wait.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
        token: &Secret,
        what: &'static str,
    ) -> Result<T, Error> {
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .send(
                    self.http.get(url).query(query).bearer_auth(token.expose()),
                    what,
                )
                .await;
            match result {
                Err(err) if err.is_transient() && attempt < MAX_ATTEMPTS => {
                    let pause = match &err {
                        Error::RateLimited {
                            retry_after: Some(after),
                            ..
                        } => *after,
                        _ => Duration::from_millis(250 * 2u64.pow(attempt)),
                    };
                    if waited + pause > MAX_RETRY_WAIT {
                        return Err(err);
                    }
                    tokio::time::sleep(pause).await;
                    waited += pause;
                }
                Err(err) => return Err(err),
                Ok(body) => {
                    return serde_json::from_slice(&body).map_err(|err| Error::Decode {
                        what,
                        reason: err.to_string(),
                        excerpt: crate::error::withheld(&body),
                    });
                }
            }
        }
    }

    /// Sends once, counting it, and hands back the raw response.
    pub(crate) async fn send_raw(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        self.count_request();
        request.send().await.map_err(Error::from_reqwest)
    }

    /// Sends once and turns error statuses into [`Error`]s.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &'static str,
    ) -> Result<Vec<u8>, Error> {
        self.count_request();
        let response = request.send().await.map_err(Error::from_reqwest)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response
            .bytes()
            .await
            .map_err(Error::from_reqwest)?
            .to_vec();
        if status.is_success() {
            return Ok(body);
        }
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let field = |name: &str| parsed.get(name).and_then(Value::as_str).map(str::to_string);
        let raw = String::from_utf8_lossy(&body).into_owned();
        let _ = what;
        // A 403 stays a 403: Moneyhub's words for a refused consent are not published (and
        // "Invalid scopes" is a 403 too), so the caller asks Moneyhub's connection fields
        // what it meant instead of reading the message.
        Err(match status.as_u16() {
            429 => Error::RateLimited {
                retry_after: retry_after.or_else(|| {
                    parsed
                        .get("retryAfterSecs")
                        .and_then(Value::as_u64)
                        .map(Duration::from_secs)
                }),
                body: raw,
            },
            status => Error::Http {
                status,
                code: field("code"),
                message: field("message"),
                correlation_id: field("correlationId"),
                body: raw,
            },
        })
    }
}

/// The HTTP seam openidconnect calls through: the client's own `reqwest::Client`. A named type
/// rather than a closure so the futures it returns are `Send` (the app runs them on spawned
/// tasks).
struct OidcHttp<'a> {
    http: &'a reqwest::Client,
    requests: &'a std::sync::atomic::AtomicU64,
}

impl<'c> openidconnect::AsyncHttpClient<'c> for OidcHttp<'_> {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let response = self.http.execute(request).await?;
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await?.to_vec();
            Ok(builder
                .body(body)
                .unwrap_or_else(|_| http::Response::new(Vec::new())))
        })
    }
}

fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

pub(crate) fn oauth_error(status: u16, body: &[u8]) -> Error {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match parsed.get("error").and_then(Value::as_str) {
        Some(error) => Error::OAuth {
            error: error.to_string(),
            description: parsed
                .get("error_description")
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        None => Error::Http {
            status,
            code: None,
            message: None,
            correlation_id: None,
            body: excerpt(body),
        },
    }
}

/// The endpoints a discovery document names get the client's secret, its tokens and the person
/// (the authorization URL goes to the system opener): each must be https (or http on this
/// computer). A document naming `file:///etc/passwd` or a plain-http host is refused whole.
fn check_endpoints(metadata: &Metadata) -> Result<(), Error> {
    let mut named = vec![
        (
            "authorization_endpoint",
            metadata.authorization_endpoint().url().clone(),
        ),
        ("jwks_uri", metadata.jwks_uri().url().clone()),
    ];
    if let Some(token) = metadata.token_endpoint() {
        named.push(("token_endpoint", token.url().clone()));
    }
    if let Some(pushed) = &metadata
        .additional_metadata()
        .pushed_authorization_request_endpoint
    {
        let url = url::Url::parse(pushed).map_err(|_| {
            Error::Discovery(format!(
                "pushed_authorization_request_endpoint {pushed:?} is not a URL"
            ))
        })?;
        named.push(("pushed_authorization_request_endpoint", url));
    }
    for (name, url) in named {
        if !crate::config::is_safe_endpoint(&url) {
            return Err(Error::Discovery(format!(
                "the discovery document's {name} ({url}) is not an https URL"
            )));
        }
    }
    Ok(())
}
