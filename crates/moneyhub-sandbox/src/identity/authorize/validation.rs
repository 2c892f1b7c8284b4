//! Checking an authorization request against Moneyhub's rules: plain parameters, request
//! objects (unsigned or RS256 against the client's JWKS), the client and its registered
//! redirect URI, scopes, claims and, at `/oidc/auth`, the users and connections they name.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::catalogue::ConnectionType;
use crate::clients::{self, ApiClient, RequestObjectAlg};
use crate::error::OAuthError;
use crate::keys;
use crate::state::{AuthRequest, FlowKind, ResponseMode, ResponseType};
use crate::world::{MAX_CONSENT, World};

pub(super) type Params = Map<String, Value>;

pub(super) fn string_param(params: &Params, name: &str) -> Option<String> {
    match params.get(name) {
        Some(Value::String(value)) if !value.is_empty() => Some(value.clone()),
        _ => None,
    }
}

/// Plain parameters arrive as strings; `claims` is then URL-encoded JSON text.
pub(super) fn params_from_pairs(
    pairs: impl Iterator<Item = (String, String)>,
) -> Result<Params, OAuthError> {
    let mut params = Params::new();
    for (name, value) in pairs {
        if params.contains_key(&name) {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name} appears more than once"
            )));
        }
        params.insert(name, Value::String(value));
    }
    if let Some(Value::String(claims)) = params.get("claims").cloned() {
        let parsed: Value = serde_json::from_str(&claims)
            .map_err(|_| OAuthError::invalid_request("claims is not valid JSON"))?;
        params.insert("claims".into(), parsed);
    }
    Ok(params)
}

/// Reads and checks a request object: `none` only for clients registered with `none`, RS256
/// verified against the client's JWKS; `iss`, `aud` and `exp` always checked.
pub(super) fn request_object(
    jwt: &str,
    client: &ApiClient,
    issuer: &str,
    now: DateTime<Utc>,
    seen: &mut clients::SeenAssertions,
) -> Result<Params, OAuthError> {
    let invalid = |message: &str| OAuthError::new("invalid_request_object", message.to_string());
    let peeked = keys::peek(jwt).map_err(|err| invalid(&err))?;
    let claims = match (peeked.alg.as_str(), client.request_object_signing_alg) {
        ("none", RequestObjectAlg::None) => {
            if !jwt.ends_with('.') {
                return Err(invalid(
                    "an unsigned request object must have an empty signature",
                ));
            }
            peeked.claims
        }
        ("none", RequestObjectAlg::RS256) => {
            return Err(invalid("this client must sign its request objects (RS256)"));
        }
        ("RS256" | "PS256", _) => {
            let jwks = client
                .jwks
                .as_ref()
                .ok_or_else(|| invalid("the client has no JWKS to verify the request object"))?;
            keys::verify_with_jwks(jwt, jwks).map_err(|err| invalid(&err))?
        }
        (other, _) => {
            return Err(invalid(&format!(
                "request object algorithm {other:?} is not supported"
            )));
        }
    };
    let Value::Object(map) = claims else {
        return Err(invalid("the request object is not a JSON object"));
    };
    if map.get("iss").and_then(Value::as_str) != Some(client.client_id.as_str()) {
        return Err(invalid("the request object's iss must be the client_id"));
    }
    if !clients::audience_matches(map.get("aud"), &[issuer]) {
        return Err(invalid("the request object's aud must be the issuer"));
    }
    let exp = map
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("the request object has no exp"))?;
    if DateTime::from_timestamp(exp, 0).is_none_or(|exp| exp <= now) {
        return Err(invalid("the request object has expired"));
    }
    if let Some(id) = map.get("client_id").and_then(Value::as_str)
        && id != client.client_id
    {
        return Err(invalid("the request object's client_id does not match"));
    }
    if let Some(jti) = map.get("jti").and_then(Value::as_str) {
        let until = DateTime::from_timestamp(exp, 0).unwrap_or(now);
        if !seen.check_and_remember(
            format!("request-object:{}:{jti}", client.client_id),
            until,
            now,
        ) {
            return Err(invalid("this request object was already used (jti)"));
        }
    }
    Ok(map)
}

pub(super) fn client_and_redirect(
    params: &Params,
    clients: &HashMap<String, ApiClient>,
) -> Result<(ApiClient, String), String> {
    let client_id = string_param(params, "client_id").ok_or("The request has no client_id.")?;
    let client = clients
        .get(&client_id)
        .ok_or("This app (client_id) is not registered with the sandbox.")?;
    let redirect_uri =
        string_param(params, "redirect_uri").ok_or("The request has no redirect_uri.")?;
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err("The redirect_uri is not registered for this app, so the sandbox will not send you there.".into());
    }
    Ok((client.clone(), redirect_uri))
}

fn claim_value<'a>(claims: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    claims?.get("id_token")?.get(name)?.get("value")
}

/// Checks an authorization request against Moneyhub's rules. `check_subjects` is off at PAR time
/// (Moneyhub does not check that `sub` and `mh:con_id` exist when a request is pushed).
pub(super) fn validate(
    params: &Params,
    client: &ApiClient,
    redirect_uri: &str,
    world: &World,
    now: DateTime<Utc>,
    check_subjects: bool,
) -> Result<AuthRequest, OAuthError> {
    let response_type = match string_param(params, "response_type").as_deref() {
        Some("code") => ResponseType::Code,
        Some("code id_token") | Some("id_token code") => ResponseType::CodeIdToken,
        Some(_) => {
            return Err(OAuthError::new(
                "unsupported_response_type",
                "response_type must be code or code id_token",
            ));
        }
        None => return Err(OAuthError::invalid_request("missing response_type")),
    };
    let response_mode = match (
        string_param(params, "response_mode").as_deref(),
        response_type,
    ) {
        (None, ResponseType::Code) | (Some("query"), ResponseType::Code) => ResponseMode::Query,
        (None, ResponseType::CodeIdToken) | (Some("fragment"), _) => ResponseMode::Fragment,
        (Some("form_post"), _) => ResponseMode::FormPost,
        (Some("query"), ResponseType::CodeIdToken) => {
            return Err(OAuthError::invalid_request(
                "response_mode query is not allowed with code id_token",
            ));
        }
        (Some(_), _) => return Err(OAuthError::invalid_request("unsupported response_mode")),
    };
    if let Some(prompt) = string_param(params, "prompt")
        && prompt != "consent"
    {
        return Err(OAuthError::invalid_request(
            "only prompt=consent is accepted",
        ));
    }
    let nonce = string_param(params, "nonce");
    if response_type == ResponseType::CodeIdToken && nonce.is_none() {
        return Err(OAuthError::invalid_request(
            "nonce is required for code id_token",
        ));
    }
    let code_challenge = string_param(params, "code_challenge");
    match string_param(params, "code_challenge_method").as_deref() {
        None if code_challenge.is_some() => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256",
            ));
        }
        Some("S256") | None => {}
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "only the S256 code_challenge_method is supported",
            ));
        }
    }
    if code_challenge
        .as_ref()
        .is_some_and(|c| c.len() < 43 || c.len() > 128)
    {
        return Err(OAuthError::invalid_request(
            "code_challenge must be 43 to 128 characters",
        ));
    }

    let scope = string_param(params, "scope")
        .ok_or_else(|| OAuthError::invalid_request("missing scope"))?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if !scopes.contains(&"openid") {
        return Err(OAuthError::invalid_scope("openid scope is required"));
    }
    let claims = params.get("claims");
    if claims.is_some_and(|c| !c.is_object()) {
        return Err(OAuthError::invalid_request("claims must be a JSON object"));
    }
    let sub = claim_value(claims, "sub")
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| OAuthError::invalid_request("sub value must be a string"))
        })
        .transpose()?;
    let con_id = claim_value(claims, "mh:con_id")
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| OAuthError::invalid_request("mh:con_id value must be a string"))
        })
        .transpose()?;
    let consent_until = match claim_value(claims, "mh:consent")
        .and_then(|c| c.get("expirationDateTime"))
    {
        None => None,
        Some(Value::String(text)) => {
            let until = DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    OAuthError::invalid_request("expirationDateTime is not an ISO 8601 date-time")
                })?
                .with_timezone(&Utc);
            if until <= now || until > now + MAX_CONSENT + Duration::minutes(5) {
                return Err(OAuthError::invalid_request(
                    "expirationDateTime must be in the future and at most 90 days ahead",
                ));
            }
            Some(until)
        }
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "expirationDateTime must be a string",
            ));
        }
    };

    let lifecycle: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| matches!(*s, "reauth" | "reconsent" | "refresh"))
        .collect();
    let id_scopes: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| s.starts_with("id:"))
        .collect();
    let flow = if let Some(&operation) = lifecycle.first() {
        if lifecycle.len() != 1 || scopes.len() != 2 {
            return Err(OAuthError::invalid_scope(format!(
                "{operation} must be accompanied by openid alone"
            )));
        }
        let (Some(user_id), Some(connection_id)) = (&sub, &con_id) else {
            return Err(OAuthError::new(
                "invalid_claims",
                format!("{operation} needs sub and mh:con_id values in the claims"),
            ));
        };
        if check_subjects {
            check_connection(world, client, user_id, connection_id, operation)?;
        }
        let connection_id = connection_id.clone();
        match operation {
            "reauth" => FlowKind::Reauth { connection_id },
            "reconsent" => FlowKind::Reconsent { connection_id },
            _ => FlowKind::Refresh { connection_id },
        }
    } else {
        let [id_scope] = id_scopes.as_slice() else {
            return Err(OAuthError::invalid_scope(
                "a new connection needs exactly one id:* scope",
            ));
        };
        let target = id_scope.trim_start_matches("id:");
        if check_subjects && let Some(user_id) = &sub {
            check_user(world, client, user_id)?;
        }
        match target {
            "all" | "api" | "legacy" | "test" => FlowKind::New {
                bank: None,
                chooser: Some(target.to_string()),
            },
            bank_id => {
                let institution = world.catalogue.get(bank_id).ok_or_else(|| {
                    OAuthError::invalid_scope(format!("unknown bank id:{bank_id}"))
                })?;
                if !institution.accepts_new_connections() {
                    return Err(OAuthError::invalid_scope(format!(
                        "{} does not accept new connections",
                        institution.name
                    )));
                }
                FlowKind::New {
                    bank: Some(bank_id.to_string()),
                    chooser: None,
                }
            }
        }
    };
    Ok(AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        response_type,
        response_mode,
        state: string_param(params, "state"),
        nonce,
        offline_access: scopes.contains(&"offline_access"),
        scope,
        flow,
        sub,
        code_challenge,
        consent_until,
    })
}

pub(super) fn check_user(
    world: &World,
    client: &ApiClient,
    user_id: &str,
) -> Result<(), OAuthError> {
    match world.users.get(user_id) {
        Some(user) if user.client_id == client.client_id => Ok(()),
        _ => Err(OAuthError::new(
            "invalid_claims",
            "the sub value names no user of this client",
        )),
    }
}

pub(super) fn check_connection(
    world: &World,
    client: &ApiClient,
    user_id: &str,
    connection_id: &str,
    operation: &str,
) -> Result<(), OAuthError> {
    check_user(world, client, user_id)?;
    let connection = world
        .connections
        .get(connection_id)
        .filter(|c| c.user_id == user_id)
        .ok_or_else(|| {
            OAuthError::new(
                "invalid_claims",
                "the mh:con_id value names no connection of this user",
            )
        })?;
    match operation {
        "refresh" if connection.kind != ConnectionType::Legacy => Err(OAuthError::invalid_request(
            "refresh is only for legacy connections",
        )),
        "reconsent" if !connection.tpp_consent => Err(OAuthError::invalid_request(
            "reconsent is only for connections with tppConsent",
        )),
        _ => Ok(()),
    }
}
