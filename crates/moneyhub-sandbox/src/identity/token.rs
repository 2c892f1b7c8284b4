//! `POST /oidc/token`: authorization codes (10 minutes, single use, PKCE, `redirect_uri` and
//! optional `sub` checked), client credentials (JWT access tokens for 7200 s, optionally bound
//! to a user with `sub`) and refresh tokens (when `offline_access` was granted).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawForm, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::clients::{self, constant_time_eq};
use crate::clock::lock;
use crate::error::OAuthError;
use crate::state::{CodeOutcome, RefreshGrant, Shared};

pub const CLIENT_CREDENTIALS_LIFETIME: Duration = Duration::seconds(7200);
const AUTH_CODE_TOKEN_LIFETIME: Duration = Duration::seconds(3600);

pub async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let now = shared.now();
    let mut form: HashMap<String, String> = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(&body).into_owned() {
        if form.insert(name.clone(), value).is_some() {
            return OAuthError::invalid_request(format!("parameter {name} appears more than once"))
                .into_response();
        }
    }
    let client = {
        let clients = lock(&shared.clients).clone();
        let mut seen = lock(&shared.seen_assertions);
        let token_endpoint = shared.token_endpoint();
        match clients::authenticate(
            &clients,
            &mut seen,
            &headers,
            &form,
            &[&shared.issuer, &token_endpoint],
            now,
        ) {
            Ok(client) => client.clone(),
            Err(err) => return err.into_response(),
        }
    };
    let result = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => authorization_code(&shared, &client.client_id, &form, now),
        Some("client_credentials") => client_credentials(&shared, &client.client_id, &form, now),
        Some("refresh_token") => refresh_token(&shared, &client.client_id, &form, now),
        Some(_) => Err(OAuthError::new(
            "unsupported_grant_type",
            "unsupported grant_type",
        )),
        None => Err(OAuthError::invalid_request("missing grant_type")),
    };
    match result {
        Ok(body) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response(),
        Err(err) => err.into_response(),
    }
}

fn authorization_code(
    shared: &Shared,
    client_id: &str,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, OAuthError> {
    let code = form
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("missing code"))?;
    let grant = {
        let mut oidc = lock(&shared.oidc);
        oidc.codes
            .retain(|_, c| c.expires > now - Duration::hours(1));
        let grant = oidc
            .codes
            .get_mut(code)
            .ok_or_else(|| OAuthError::invalid_grant("the code is invalid or has expired"))?;
        // Another client cannot burn this client's code.
        if grant.client_id != client_id {
            return Err(OAuthError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        if grant.used {
            return Err(OAuthError::invalid_grant("the code was already used"));
        }
        // Used even if the checks below fail: a code gets one try.
        grant.used = true;
        grant.clone()
    };
    if grant.expires <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if grant.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    if let Some(sub) = form.get("sub")
        && sub != &grant.user_id
    {
        return Err(OAuthError::invalid_grant(
            "sub does not match the user of this code",
        ));
    }
    match (&grant.code_challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if !constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
                return Err(OAuthError::invalid_grant("PKCE verification failed"));
            }
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier given but no code_challenge was sent",
            ));
        }
        (None, None) => {}
    }
    let connection_id = match &grant.outcome {
        CodeOutcome::Connection(id) => id.clone(),
        CodeOutcome::NewConnection {
            bank_id,
            selection,
            consent_until,
        } => {
            let mut world = shared.world();
            world
                .create_connection(&grant.user_id, bank_id, selection, *consent_until, now)
                .ok_or_else(|| OAuthError::invalid_grant("the user or bank no longer exists"))?
        }
    };
    let mut id_claims = json!({
        "iss": shared.issuer,
        "sub": grant.user_id,
        "aud": client_id,
        "iat": now.timestamp(),
        "exp": (now + AUTH_CODE_TOKEN_LIFETIME).timestamp(),
        "auth_time": grant.auth_time.timestamp(),
        "mh:con_id": connection_id,
    });
    if let Some(nonce) = &grant.nonce {
        id_claims["nonce"] = json!(nonce);
    }
    let access_token = access_token(
        shared,
        client_id,
        Some(&grant.user_id),
        &grant.scope,
        AUTH_CODE_TOKEN_LIFETIME,
        now,
    );
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": AUTH_CODE_TOKEN_LIFETIME.num_seconds(),
        "id_token": shared.sign(&id_claims),
        "scope": grant.scope,
    });
    if grant.offline_access {
        let refresh = crate::keys::secret_token(32);
        lock(&shared.oidc).refresh_tokens.insert(
            refresh.clone(),
            RefreshGrant {
                client_id: client_id.into(),
                user_id: grant.user_id.clone(),
                scope: grant.scope.clone(),
                connection_id,
                auth_time: grant.auth_time,
            },
        );
        body["refresh_token"] = json!(refresh);
    }
    Ok(body)
}

fn client_credentials(
    shared: &Shared,
    client_id: &str,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, OAuthError> {
    let scope = form
        .get("scope")
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::invalid_scope("scope is required"))?;
    if scope
        .split(' ')
        .any(|s| s == "openid" || s.starts_with("id:"))
    {
        return Err(OAuthError::invalid_scope(
            "openid and id:* scopes cannot be requested with client_credentials",
        ));
    }
    let registered = lock(&shared.clients)
        .get(client_id)
        .and_then(|client| client.scopes.clone());
    if let Some(registered) = registered
        && let Some(unregistered) = scope
            .split(' ')
            .find(|asked| !registered.iter().any(|granted| granted == asked))
    {
        return Err(OAuthError::invalid_scope(format!(
            "this client is not registered for {unregistered}"
        )));
    }
    let sub = form.get("sub");
    if let Some(sub) = sub {
        let world = shared.world();
        let owned = world
            .users
            .get(sub)
            .is_some_and(|user| user.client_id == client_id);
        if !owned {
            return Err(OAuthError::invalid_request(
                "sub names no user of this client",
            ));
        }
    }
    let token = access_token(
        shared,
        client_id,
        sub.map(String::as_str),
        &scope,
        CLIENT_CREDENTIALS_LIFETIME,
        now,
    );
    Ok(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": CLIENT_CREDENTIALS_LIFETIME.num_seconds(),
        "scope": scope,
    }))
}

fn refresh_token(
    shared: &Shared,
    client_id: &str,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, OAuthError> {
    let token = form
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("missing refresh_token"))?;
    let grant = lock(&shared.oidc)
        .refresh_tokens
        .get(token)
        .cloned()
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
    if grant.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    // A refresh token ends with its connection (deleted, or replaced by a reauth).
    let alive = shared
        .world()
        .connections
        .get(&grant.connection_id)
        .is_some_and(|c| c.user_id == grant.user_id);
    if !alive {
        lock(&shared.oidc).refresh_tokens.remove(token);
        return Err(OAuthError::invalid_grant(
            "the refresh token's connection no longer exists",
        ));
    }
    let access = access_token(
        shared,
        client_id,
        Some(&grant.user_id),
        &grant.scope,
        AUTH_CODE_TOKEN_LIFETIME,
        now,
    );
    let id_claims = json!({
        "iss": shared.issuer, "sub": grant.user_id, "aud": client_id, "iat": now.timestamp(),
        "exp": (now + AUTH_CODE_TOKEN_LIFETIME).timestamp(), "mh:con_id": grant.connection_id,
        "auth_time": grant.auth_time.timestamp(),
    });
    Ok(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": AUTH_CODE_TOKEN_LIFETIME.num_seconds(),
        "id_token": shared.sign(&id_claims),
        "refresh_token": token,
        "scope": grant.scope,
    }))
}

fn access_token(
    shared: &Shared,
    client_id: &str,
    sub: Option<&str>,
    scope: &str,
    lifetime: Duration,
    now: DateTime<Utc>,
) -> String {
    let jti = crate::keys::secret_token(12);
    let mut claims = json!({
        "iss": shared.issuer,
        "aud": client_id,
        "client_id": client_id,
        "scope": scope,
        "iat": now.timestamp(),
        "exp": (now + lifetime).timestamp(),
        "jti": jti,
    });
    if let Some(sub) = sub {
        claims["sub"] = json!(sub);
    }
    shared.sign(&claims)
}
