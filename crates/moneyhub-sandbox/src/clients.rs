//! Registered API clients and how they authenticate at the token and PAR endpoints
//! (`client_secret_basic` or `private_key_jwt`).

use std::collections::HashMap;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::OAuthError;
use crate::keys::{self, SigningKey};

pub const DEMO_CLIENT_ID: &str = "banklinks-demo";
pub const DEMO_CLIENT_SECRET: &str = "banklinks-demo-secret";
pub const DEMO_JWT_CLIENT_ID: &str = "banklinks-demo-jwt";
pub const DEMO_REDIRECT_URI: &str = "banklinks://callback";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    PrivateKeyJwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestObjectAlg {
    #[serde(rename = "none")]
    None,
    RS256,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiClient {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub jwks: Option<Value>,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: AuthMethod,
    #[serde(default = "default_alg")]
    pub request_object_signing_alg: RequestObjectAlg,
    /// The scopes the client was registered for, as Moneyhub's admin portal grants them; a
    /// token asking for another is refused (`invalid_scope`). None: every scope (the Demo's).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

fn default_alg() -> RequestObjectAlg {
    RequestObjectAlg::None
}

impl ApiClient {
    /// The clients every sandbox starts with; Banklinks' Demo holds their credentials.
    pub fn is_built_in(client_id: &str) -> bool {
        client_id == DEMO_CLIENT_ID || client_id == DEMO_JWT_CLIENT_ID
    }

    pub fn demo_clients() -> Vec<ApiClient> {
        vec![
            ApiClient {
                client_id: DEMO_CLIENT_ID.into(),
                client_secret: Some(DEMO_CLIENT_SECRET.into()),
                jwks: None,
                redirect_uris: vec![DEMO_REDIRECT_URI.into()],
                token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
                request_object_signing_alg: RequestObjectAlg::None,
                scopes: None,
            },
            ApiClient {
                client_id: DEMO_JWT_CLIENT_ID.into(),
                client_secret: None,
                jwks: Some(serde_json::json!({ "keys": [SigningKey::demo_client().public_jwk()] })),
                redirect_uris: vec![DEMO_REDIRECT_URI.into()],
                token_endpoint_auth_method: AuthMethod::PrivateKeyJwt,
                request_object_signing_alg: RequestObjectAlg::RS256,
                scopes: None,
            },
        ]
    }
}

/// Client assertion ids already used, with their expiry, so a replay is refused.
#[derive(Debug, Default)]
pub struct SeenAssertions(HashMap<String, DateTime<Utc>>);

impl SeenAssertions {
    pub fn check_and_remember(
        &mut self,
        key: String,
        expires: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        self.0.retain(|_, until| *until > now);
        self.0.insert(key, expires).is_none()
    }
}

/// Authenticates the client of a token or PAR request from its headers and form fields.
/// `audiences` are the values a `private_key_jwt` assertion's `aud` may name.
pub fn authenticate<'a>(
    clients: &'a HashMap<String, ApiClient>,
    seen: &mut SeenAssertions,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    audiences: &[&str],
    now: DateTime<Utc>,
) -> Result<&'a ApiClient, OAuthError> {
    let basic = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "));
    let assertion = form.get("client_assertion");
    let client = match (basic, assertion) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client authentication must use one method only",
            ));
        }
        (Some(encoded), None) => {
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            let id = form_decode(id);
            let secret = form_decode(secret);
            let client = clients
                .get(&id)
                .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
            if client.token_endpoint_auth_method != AuthMethod::ClientSecretBasic {
                return Err(OAuthError::invalid_client(
                    "this client authenticates with private_key_jwt",
                ));
            }
            let matches = client
                .client_secret
                .as_deref()
                .is_some_and(|expected| constant_time_eq(expected.as_bytes(), secret.as_bytes()));
            if !matches {
                return Err(OAuthError::invalid_client("invalid client secret"));
            }
            client
        }
        (None, Some(assertion)) => {
            if form.get("client_assertion_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return Err(OAuthError::invalid_request(
                    "client_assertion_type must be jwt-bearer",
                ));
            }
            let peeked = keys::peek(assertion)
                .map_err(|err| OAuthError::invalid_client(format!("client_assertion: {err}")))?;
            let issuer = peeked
                .claims
                .get("iss")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let client = clients
                .get(issuer)
                .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
            if client.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt {
                return Err(OAuthError::invalid_client(
                    "this client authenticates with client_secret_basic",
                ));
            }
            let jwks = client
                .jwks
                .as_ref()
                .ok_or_else(|| OAuthError::invalid_client("the client has no JWKS"))?;
            let claims = keys::verify_with_jwks(assertion, jwks)
                .map_err(|err| OAuthError::invalid_client(format!("client_assertion: {err}")))?;
            if claims.get("sub").and_then(Value::as_str) != Some(client.client_id.as_str()) {
                return Err(OAuthError::invalid_client(
                    "client_assertion sub must be the client_id",
                ));
            }
            if !audience_matches(claims.get("aud"), audiences) {
                return Err(OAuthError::invalid_client(
                    "client_assertion aud must be the issuer or the token endpoint",
                ));
            }
            let exp = claims
                .get("exp")
                .and_then(Value::as_i64)
                .ok_or_else(|| OAuthError::invalid_client("client_assertion has no exp"))?;
            let exp = DateTime::from_timestamp(exp, 0)
                .ok_or_else(|| OAuthError::invalid_client("client_assertion exp is invalid"))?;
            if exp <= now {
                return Err(OAuthError::invalid_client("client_assertion has expired"));
            }
            let jti = claims
                .get("jti")
                .and_then(Value::as_str)
                .ok_or_else(|| OAuthError::invalid_client("client_assertion has no jti"))?;
            if !seen.check_and_remember(format!("{}:{jti}", client.client_id), exp, now) {
                return Err(OAuthError::invalid_client(
                    "client_assertion jti was already used",
                ));
            }
            client
        }
        (None, None) => return Err(OAuthError::invalid_client("no client authentication")),
    };
    if let Some(named) = form.get("client_id")
        && named != &client.client_id
    {
        return Err(OAuthError::invalid_client(
            "client_id does not match the authenticated client",
        ));
    }
    Ok(client)
}

pub fn audience_matches(aud: Option<&Value>, allowed: &[&str]) -> bool {
    match aud {
        Some(Value::String(aud)) => allowed.contains(&aud.as_str()),
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| allowed.contains(&aud)),
        _ => false,
    }
}

fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
