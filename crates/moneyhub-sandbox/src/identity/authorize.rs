//! Authorization requests in the three styles Moneyhub accepts (pushed, request object by value,
//! plain parameters), their validation, and the bank journey that answers them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::pages::{self, Page};
use super::token::{AuthCode, CodeOutcome};
use crate::catalogue::{ConnectionType, Institution};
use crate::clients::{self, ApiClient, RequestObjectAlg};
use crate::clock::lock;
use crate::error::OAuthError;
use crate::keys;
use crate::server::Shared;
use crate::world::{MAX_CONSENT, Selection, World};

const PUSHED_REQUEST_LIFETIME: i64 = 60;
const INTERACTION_LIFETIME: Duration = Duration::hours(1);
pub const CODE_LIFETIME: Duration = Duration::minutes(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    Code,
    CodeIdToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowKind {
    /// A new connection: a bank named by `id:<bankId>`, or a chooser for `id:all|api|legacy|test`.
    New {
        bank: Option<String>,
        chooser: Option<String>,
    },
    Reauth {
        connection_id: String,
    },
    Reconsent {
        connection_id: String,
    },
    Refresh {
        connection_id: String,
    },
}

#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scope: String,
    pub flow: FlowKind,
    pub sub: Option<String>,
    pub code_challenge: Option<String>,
    pub consent_until: Option<DateTime<Utc>>,
    pub offline_access: bool,
}

/// Where errors go: the client's redirect URI when it is known and registered, a page otherwise.
struct Reply {
    redirect_uri: String,
    mode: ResponseMode,
    state: Option<String>,
}

type Params = Map<String, Value>;

fn string_param(params: &Params, name: &str) -> Option<String> {
    match params.get(name) {
        Some(Value::String(value)) if !value.is_empty() => Some(value.clone()),
        _ => None,
    }
}

/// Plain parameters arrive as strings; `claims` is then URL-encoded JSON text.
fn params_from_pairs(pairs: impl Iterator<Item = (String, String)>) -> Result<Params, OAuthError> {
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
fn request_object(
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

fn client_and_redirect(
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

fn reply_for(params: &Params, redirect_uri: &str) -> Reply {
    let response_type = string_param(params, "response_type").unwrap_or_default();
    let default_mode = if response_type == "code" {
        ResponseMode::Query
    } else {
        ResponseMode::Fragment
    };
    let mode = match string_param(params, "response_mode").as_deref() {
        Some("query") => ResponseMode::Query,
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        _ => default_mode,
    };
    Reply {
        redirect_uri: redirect_uri.to_string(),
        mode,
        state: string_param(params, "state"),
    }
}

fn claim_value<'a>(claims: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    claims?.get("id_token")?.get(name)?.get("value")
}

/// Checks an authorization request against Moneyhub's rules. `check_subjects` is off at PAR time
/// (Moneyhub does not check that `sub` and `mh:con_id` exist when a request is pushed).
fn validate(
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

fn check_user(world: &World, client: &ApiClient, user_id: &str) -> Result<(), OAuthError> {
    match world.users.get(user_id) {
        Some(user) if user.client_id == client.client_id => Ok(()),
        _ => Err(OAuthError::new(
            "invalid_claims",
            "the sub value names no user of this client",
        )),
    }
}

fn check_connection(
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

/// `POST /oidc/request`: the client authenticates, pushes its parameters (or a request object)
/// and gets a single-use `request_uri`.
pub async fn pushed_authorization_request(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let now = shared.now();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let form: HashMap<String, String> = pairs.iter().cloned().collect();
    let clients = lock(&shared.clients).clone();
    let client = {
        let mut seen = lock(&shared.seen_assertions);
        let token_endpoint = shared.token_endpoint();
        let pushed_endpoint = format!("{}/request", shared.issuer);
        match clients::authenticate(
            &clients,
            &mut seen,
            &headers,
            &form,
            &[&shared.issuer, &token_endpoint, &pushed_endpoint],
            now,
        ) {
            Ok(client) => client.clone(),
            Err(err) => return err.into_response(),
        }
    };
    let auth_fields = ["client_assertion", "client_assertion_type"];
    let mut params = match params_from_pairs(
        pairs
            .into_iter()
            .filter(|(name, _)| !auth_fields.contains(&name.as_str())),
    ) {
        Ok(params) => params,
        Err(err) => return err.into_response(),
    };
    if params.contains_key("request_uri") {
        return OAuthError::invalid_request("request_uri cannot be pushed").into_response();
    }
    if let Some(jwt) = string_param(&params, "request") {
        match request_object(
            &jwt,
            &client,
            &shared.issuer,
            now,
            &mut lock(&shared.seen_assertions),
        ) {
            Ok(object) => params = object,
            Err(err) => return err.into_response(),
        }
    }
    params
        .entry("client_id")
        .or_insert_with(|| Value::String(client.client_id.clone()));
    if string_param(&params, "client_id").as_deref() != Some(client.client_id.as_str()) {
        return OAuthError::invalid_request("client_id does not match the authenticated client")
            .into_response();
    }
    let Some(redirect_uri) =
        string_param(&params, "redirect_uri").filter(|uri| client.redirect_uris.contains(uri))
    else {
        return OAuthError::invalid_request("redirect_uri is missing or not registered")
            .into_response();
    };
    let request = {
        let world = shared.world();
        match validate(&params, &client, &redirect_uri, &world, now, false) {
            Ok(request) => request,
            Err(err) => return err.into_response(),
        }
    };
    let handle = format!(
        "urn:ietf:params:oauth:request_uri:{}",
        crate::keys::secret_token(24)
    );
    let mut oidc = lock(&shared.oidc);
    oidc.pushed.retain(|_, (_, expires)| *expires > now);
    oidc.pushed.insert(
        handle.clone(),
        (request, now + Duration::seconds(PUSHED_REQUEST_LIFETIME)),
    );
    (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "request_uri": handle, "expires_in": PUSHED_REQUEST_LIFETIME })),
    )
        .into_response()
}

/// `GET /oidc/auth`: with a pushed `request_uri`, a `request` object by value, or plain
/// parameters. Starts the bank journey or sends an error back to the client.
pub async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let now = shared.now();
    let query_params = match params_from_pairs(query.into_iter()) {
        Ok(params) => params,
        Err(err) => return pages::error_page(StatusCode::BAD_REQUEST, &err.description),
    };
    let clients = lock(&shared.clients).clone();

    let request = if let Some(handle) = string_param(&query_params, "request_uri") {
        let pushed = lock(&shared.oidc).pushed.remove(&handle);
        match pushed {
            Some((request, expires)) if expires > now => {
                // Subjects were not checked at push time; check them now.
                let world = shared.world();
                let Some(client) = clients.get(&request.client_id) else {
                    return pages::error_page(
                        StatusCode::BAD_REQUEST,
                        "The app that pushed this request is no longer registered.",
                    );
                };
                let reply = Reply {
                    redirect_uri: request.redirect_uri.clone(),
                    mode: request.response_mode,
                    state: request.state.clone(),
                };
                let checked = match &request.flow {
                    FlowKind::Reauth { connection_id } => {
                        request.sub.as_deref().map_or(Ok(()), |sub| {
                            check_connection(&world, client, sub, connection_id, "reauth")
                        })
                    }
                    FlowKind::Reconsent { connection_id } => {
                        request.sub.as_deref().map_or(Ok(()), |sub| {
                            check_connection(&world, client, sub, connection_id, "reconsent")
                        })
                    }
                    FlowKind::Refresh { connection_id } => {
                        request.sub.as_deref().map_or(Ok(()), |sub| {
                            check_connection(&world, client, sub, connection_id, "refresh")
                        })
                    }
                    FlowKind::New { .. } => request
                        .sub
                        .as_deref()
                        .map_or(Ok(()), |sub| check_user(&world, client, sub)),
                };
                drop(world);
                if let Err(err) = checked {
                    return respond(&shared, &reply, error_params(&err, &shared.issuer, &reply));
                }
                request
            }
            Some(_) | None => {
                return pages::error_page(
                    StatusCode::BAD_REQUEST,
                    "This sign-in link has expired or was already used. Go back to the app and start again.",
                );
            }
        }
    } else {
        let mut params = query_params.clone();
        if let Some(jwt) = string_param(&query_params, "request") {
            let client_id = string_param(&query_params, "client_id").or_else(|| {
                keys::peek(&jwt).ok().and_then(|p| {
                    p.claims
                        .get("iss")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
            });
            let Some(client) = client_id.and_then(|id| clients.get(&id).cloned()) else {
                return pages::error_page(
                    StatusCode::BAD_REQUEST,
                    "This app (client_id) is not registered with the sandbox.",
                );
            };
            match request_object(
                &jwt,
                &client,
                &shared.issuer,
                now,
                &mut lock(&shared.seen_assertions),
            ) {
                // Only what the request object says counts: unsigned query parameters must
                // not add to a signed request.
                Ok(object) => {
                    params = object;
                    params
                        .entry("client_id")
                        .or_insert_with(|| Value::String(client.client_id.clone()));
                }
                Err(err) => {
                    // The redirect is only trusted when the query's own redirect_uri is registered.
                    return match client_and_redirect(&query_params, &clients) {
                        Ok((_, redirect_uri)) => {
                            let reply = reply_for(&query_params, &redirect_uri);
                            respond(&shared, &reply, error_params(&err, &shared.issuer, &reply))
                        }
                        Err(_) => pages::error_page(StatusCode::BAD_REQUEST, &err.description),
                    };
                }
            }
        }
        let (client, redirect_uri) = match client_and_redirect(&params, &clients) {
            Ok(found) => found,
            Err(message) => return pages::error_page(StatusCode::BAD_REQUEST, &message),
        };
        let reply = reply_for(&params, &redirect_uri);
        let validated = {
            let world = shared.world();
            validate(&params, &client, &redirect_uri, &world, now, true)
        };
        match validated {
            Ok(request) => request,
            Err(err) => {
                return respond(&shared, &reply, error_params(&err, &shared.issuer, &reply));
            }
        }
    };

    let interaction = Interaction::new(request, now);
    let id = crate::keys::secret_token(16);
    let mut oidc = lock(&shared.oidc);
    oidc.interactions
        .retain(|_, i| now - i.created < INTERACTION_LIFETIME);
    oidc.interactions.insert(id.clone(), interaction);
    see_other(&format!("/oidc/interaction/{id}"))
}

/// A bank journey in progress.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub request: AuthRequest,
    pub created: DateTime<Utc>,
    pub bank: Option<String>,
    pub logged_in: bool,
    pub selection: Option<Vec<usize>>,
    pub answered_security_question: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Chooser,
    Login,
    Accounts,
    SecurityQuestion,
    Consent,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Chooser => "chooser",
            Step::Login => "login",
            Step::Accounts => "accounts",
            Step::SecurityQuestion => "security",
            Step::Consent => "consent",
        }
    }
}

impl Interaction {
    fn new(request: AuthRequest, now: DateTime<Utc>) -> Self {
        let bank = match &request.flow {
            FlowKind::New { bank, .. } => bank.clone(),
            FlowKind::Reauth { connection_id }
            | FlowKind::Reconsent { connection_id }
            | FlowKind::Refresh { connection_id } => {
                connection_id.split(':').next().map(str::to_string)
            }
        };
        Self {
            request,
            created: now,
            bank,
            logged_in: false,
            selection: None,
            answered_security_question: false,
        }
    }

    fn step(&self) -> Step {
        match &self.request.flow {
            FlowKind::New { .. } if self.bank.is_none() => Step::Chooser,
            FlowKind::New { .. } | FlowKind::Reauth { .. } if !self.logged_in => Step::Login,
            FlowKind::New { .. } | FlowKind::Reauth { .. } if self.selection.is_none() => {
                Step::Accounts
            }
            FlowKind::Refresh { .. } if !self.answered_security_question => Step::SecurityQuestion,
            _ => Step::Consent,
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    q: Option<String>,
}

pub async fn interaction_page(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let Some(interaction) = lock(&shared.oidc).interactions.get(&id).cloned() else {
        return pages::error_page(
            StatusCode::NOT_FOUND,
            "This sign-in has expired. Go back to the app and start again.",
        );
    };
    render_step(&shared, &id, &interaction, query.q.as_deref(), None)
}

fn render_step(
    shared: &Shared,
    id: &str,
    interaction: &Interaction,
    search: Option<&str>,
    problem: Option<&str>,
) -> Response {
    let world = shared.world();
    let institution = interaction
        .bank
        .as_deref()
        .and_then(|bank| world.catalogue.get(bank))
        .cloned();
    let action = format!("/oidc/interaction/{id}");
    let step = interaction.step();
    let page = match step {
        Step::Chooser => {
            let chooser = match &interaction.request.flow {
                FlowKind::New { chooser, .. } => chooser.clone().unwrap_or_else(|| "all".into()),
                _ => "all".into(),
            };
            let banks = world.catalogue.chooser(&chooser).unwrap_or_default();
            let needle = search.unwrap_or_default().trim().to_lowercase();
            let shown: Vec<&Institution> = banks
                .into_iter()
                .filter(|bank| needle.is_empty() || bank.name.to_lowercase().contains(&needle))
                .collect();
            Page::Chooser {
                banks: shown,
                search: search.unwrap_or_default(),
            }
        }
        Step::Login => Page::Login {
            bank: institution.as_ref(),
        },
        Step::Accounts => {
            let current: Vec<usize> = match &interaction.request.flow {
                FlowKind::Reauth { connection_id } => world
                    .connections
                    .get(connection_id)
                    .map(|c| {
                        c.account_ids
                            .iter()
                            .filter_map(|a| world.accounts.get(a))
                            .filter_map(|a| {
                                institution
                                    .as_ref()?
                                    .account_types
                                    .iter()
                                    .position(|t| *t == a.account_type)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => institution
                    .as_ref()
                    .map(|i| (0..i.account_types.len()).collect())
                    .unwrap_or_default(),
            };
            Page::Accounts {
                bank: institution.as_ref(),
                checked: current,
            }
        }
        Step::SecurityQuestion => Page::SecurityQuestion {
            bank: institution.as_ref(),
        },
        Step::Consent => {
            let client_name = interaction.request.client_id.clone();
            let (kind, until) = match &interaction.request.flow {
                FlowKind::Reconsent { .. } => (
                    "reconsent",
                    interaction
                        .request
                        .consent_until
                        .unwrap_or(shared.now() + MAX_CONSENT),
                ),
                FlowKind::Refresh { .. } => ("refresh", shared.now()),
                FlowKind::Reauth { .. } => ("reauth", shared.now() + MAX_CONSENT),
                FlowKind::New { .. } => (
                    "new",
                    interaction
                        .request
                        .consent_until
                        .unwrap_or(shared.now() + MAX_CONSENT),
                ),
            };
            Page::Consent {
                bank: institution.as_ref(),
                client: client_name,
                kind,
                until,
            }
        }
    };
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (
        status,
        Html(pages::render(&page, &action, step.name(), problem)),
    )
        .into_response()
}

/// `POST /oidc/interaction/{id}`: one step of the journey. Every page's primary button submits
/// the form as prefilled; "deny" ends the journey with `access_denied`.
pub async fn interaction_submit(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Response {
    let now = shared.now();
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let Some(mut interaction) = lock(&shared.oidc).interactions.get(&id).cloned() else {
        return pages::error_page(
            StatusCode::NOT_FOUND,
            "This sign-in has expired. Go back to the app and start again.",
        );
    };
    let reply = Reply {
        redirect_uri: interaction.request.redirect_uri.clone(),
        mode: interaction.request.response_mode,
        state: interaction.request.state.clone(),
    };
    if field("action").as_deref() == Some("deny") {
        lock(&shared.oidc).interactions.remove(&id);
        let err = OAuthError::new("access_denied", "The user cancelled at the bank");
        return respond(&shared, &reply, error_params(&err, &shared.issuer, &reply));
    }
    let step = interaction.step();
    if field("step").as_deref() != Some(step.name()) {
        // A stale form (back button, double submit): show the current step again.
        return see_other(&format!("/oidc/interaction/{id}"));
    }
    match step {
        Step::Chooser => {
            let bank = field("bank").unwrap_or_default();
            let offered = match &interaction.request.flow {
                FlowKind::New {
                    chooser: Some(list),
                    ..
                } => list.clone(),
                _ => "all".into(),
            };
            let known = shared
                .world()
                .catalogue
                .chooser(&offered)
                .is_some_and(|banks| banks.iter().any(|b| b.id == bank));
            if !known {
                return render_step(
                    &shared,
                    &id,
                    &interaction,
                    None,
                    Some("Choose a bank to continue."),
                );
            }
            interaction.bank = Some(bank);
        }
        Step::Login => {
            let blocked = interaction
                .bank
                .as_deref()
                .and_then(|bank| {
                    shared
                        .world()
                        .catalogue
                        .get(bank)
                        .map(|i| super::journey_blocked(i.auth))
                })
                .unwrap_or(false);
            if blocked {
                lock(&shared.oidc).interactions.remove(&id);
                let err = OAuthError::new(
                    "temporarily_unavailable",
                    "The bank is not available right now; try again later",
                );
                return respond(&shared, &reply, error_params(&err, &shared.issuer, &reply));
            }
            if field("username").unwrap_or_default().trim().is_empty()
                || field("password").unwrap_or_default().is_empty()
            {
                return render_step(
                    &shared,
                    &id,
                    &interaction,
                    None,
                    Some("Enter your user name and password."),
                );
            }
            interaction.logged_in = true;
        }
        Step::Accounts => {
            let count = interaction
                .bank
                .as_deref()
                .and_then(|b| {
                    shared
                        .world()
                        .catalogue
                        .get(b)
                        .map(|i| i.account_types.len())
                })
                .unwrap_or(0);
            let mut chosen: Vec<usize> = fields
                .iter()
                .filter(|(k, _)| k == "account")
                .filter_map(|(_, v)| v.parse().ok())
                .filter(|i| *i < count)
                .collect();
            chosen.sort_unstable();
            chosen.dedup();
            if chosen.is_empty() {
                return render_step(
                    &shared,
                    &id,
                    &interaction,
                    None,
                    Some("Choose at least one account to share."),
                );
            }
            interaction.selection = Some(chosen);
        }
        Step::SecurityQuestion => {
            if field("answer").unwrap_or_default().trim().is_empty() {
                return render_step(
                    &shared,
                    &id,
                    &interaction,
                    None,
                    Some("Answer the security question to continue."),
                );
            }
            interaction.answered_security_question = true;
        }
        Step::Consent => {
            // Removing it is the claim: a second "Allow" (a double click) finds nothing to finish.
            if lock(&shared.oidc).interactions.remove(&id).is_none() {
                return pages::error_page(
                    StatusCode::CONFLICT,
                    "This sign-in was already completed. Go back to the app.",
                );
            }
            return finish(&shared, &interaction, &reply, now);
        }
    }
    lock(&shared.oidc)
        .interactions
        .insert(id.clone(), interaction);
    see_other(&format!("/oidc/interaction/{id}"))
}

/// The user agreed: apply reauth/reconsent/refresh now (a new connection is created when the
/// code is exchanged, as Moneyhub does), issue the code and send the user back.
fn finish(
    shared: &Shared,
    interaction: &Interaction,
    reply: &Reply,
    now: DateTime<Utc>,
) -> Response {
    let request = &interaction.request;
    let mut world = shared.world();
    let user_id = match &request.sub {
        Some(sub) => sub.clone(),
        None => world.create_user(&request.client_id, None, now).id,
    };
    let selection = Selection {
        accounts: interaction.selection.clone().unwrap_or_default(),
    };
    let outcome = match &request.flow {
        FlowKind::New { .. } => CodeOutcome::NewConnection {
            bank_id: interaction.bank.clone().unwrap_or_default(),
            selection,
            consent_until: request.consent_until,
        },
        FlowKind::Reauth { connection_id } => match world.reauth(connection_id, &selection, now) {
            Some(new_id) => CodeOutcome::Connection(new_id),
            None => return connection_gone(shared, reply),
        },
        FlowKind::Reconsent { connection_id } => {
            match world.reconsent(connection_id, request.consent_until, now) {
                Some(()) => CodeOutcome::Connection(connection_id.clone()),
                None => return connection_gone(shared, reply),
            }
        }
        FlowKind::Refresh { connection_id } => match world.refresh(connection_id, now) {
            Some(()) => CodeOutcome::Connection(connection_id.clone()),
            None => return connection_gone(shared, reply),
        },
    };
    let code = crate::keys::secret_token(32);
    drop(world);
    let mut params = vec![("code".to_string(), code.clone())];
    if request.response_type == ResponseType::CodeIdToken {
        let mut claims = json!({
            "iss": shared.issuer,
            "sub": user_id,
            "aud": request.client_id,
            "iat": now.timestamp(),
            "exp": (now + Duration::hours(1)).timestamp(),
            "auth_time": now.timestamp(),
            "nonce": request.nonce,
            "c_hash": keys::left_half_hash(&code),
        });
        if let Some(state) = &request.state {
            claims["s_hash"] = json!(keys::left_half_hash(state));
        }
        params.push(("id_token".into(), shared.sign(&claims)));
    }
    if let Some(state) = &request.state {
        params.push(("state".into(), state.clone()));
    }
    params.push(("iss".into(), shared.issuer.clone()));
    lock(&shared.oidc).codes.insert(
        code,
        AuthCode {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            user_id,
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            scope: request.scope.clone(),
            offline_access: request.offline_access,
            auth_time: now,
            expires: now + CODE_LIFETIME,
            outcome,
            used: false,
        },
    );
    respond(shared, reply, params)
}

fn connection_gone(shared: &Shared, reply: &Reply) -> Response {
    let err = OAuthError::new("invalid_claims", "the connection no longer exists");
    respond(shared, reply, error_params(&err, &shared.issuer, reply))
}

fn error_params(err: &OAuthError, issuer: &str, reply: &Reply) -> Vec<(String, String)> {
    let mut params = vec![
        ("error".to_string(), err.error.to_string()),
        ("error_description".to_string(), err.description.clone()),
    ];
    if let Some(state) = &reply.state {
        params.push(("state".into(), state.clone()));
    }
    params.push(("iss".into(), issuer.to_string()));
    params
}

fn respond(_shared: &Shared, reply: &Reply, params: Vec<(String, String)>) -> Response {
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    match reply.mode {
        ResponseMode::Query => {
            let separator = if reply.redirect_uri.contains('?') {
                '&'
            } else {
                '?'
            };
            see_other(&format!("{}{separator}{encoded}", reply.redirect_uri))
        }
        ResponseMode::Fragment => see_other(&format!("{}#{encoded}", reply.redirect_uri)),
        ResponseMode::FormPost => {
            Html(pages::form_post(&reply.redirect_uri, &params)).into_response()
        }
    }
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}
