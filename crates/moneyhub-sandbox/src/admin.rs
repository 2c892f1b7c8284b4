//! The sandbox's own controls under `/__sandbox` (not part of Moneyhub's surface): the clock,
//! reset, ready-made personas, forcing a connection into a state, fault injection and client
//! registration. Documented in the crate README. Off by default on non-loopback binds.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::catalogue::Script;
use crate::clients::{ApiClient, DEMO_CLIENT_ID};
use crate::clock::lock;
use crate::error::ApiError;
use crate::state::{FaultRule, Shared};
use crate::wire;
use crate::world::{ConnectionError, Selection, Status, SyncAction, World};

mod guard;
mod vanishing;

pub use guard::{guard, host_guard};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .merge(vanishing::routes())
        .route("/", get(state))
        .route("/clock", post(move_clock))
        .route("/reset", post(reset))
        .route("/scenarios", get(list_scenarios))
        .route("/scenarios/{name}", post(load_scenario))
        .route("/populate", post(populate_route))
        .route("/connections/{connection_id}", patch(force_state))
        .route(
            "/transactions/{transaction_id}",
            axum::routing::delete(delete_transaction),
        )
        .route("/readings", get(get_readings).put(set_readings))
        .route(
            "/faults",
            get(list_faults).put(set_faults).delete(clear_faults),
        )
        .route("/clients", get(list_clients).post(register_client))
        .route("/banks", get(banks))
        .route("/webhooks", get(recent_webhooks))
        .route("/keys/rotate", post(rotate_keys))
}

type Reply = Result<Response, ApiError>;

fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_str("{}").map_err(|err| ApiError::bad_request(err.to_string()));
    }
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::bad_request(format!("Invalid body: {err}")))
}

async fn state(State(shared): State<Arc<Shared>>) -> Reply {
    let world = shared.world();
    Ok(axum::Json(json!({
        "now": wire::iso(shared.now()),
        "clock": shared.clock.mode(),
        "seed": world.seed,
        "syncWindowSecs": world.sync_window.num_seconds(),
        "users": world.users.len(),
        "connections": world.connections.len(),
        "accounts": world.accounts.len(),
        "transactions": world.transactions.len(),
        "identityUrl": shared.base_url,
        "apiUrl": format!("{}/v3", shared.base_url),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockMove {
    /// e.g. "90m", "1h", "1d", "7d", "90d", or seconds as a number.
    advance: Option<Value>,
    to: Option<String>,
}

/// The furthest one call may move the clock: catching the world up holds its lock, so an
/// unbounded jump would stall every request.
pub const MAX_CLOCK_STEP: Duration = crate::world::LONGEST_MISSED_SPAN;

/// "90m", "1h", "1d", "7d", "2w" or a number of seconds. `None` for anything else, including
/// amounts too large to represent.
pub fn parse_duration(value: &Value) -> Option<Duration> {
    match value {
        Value::Number(n) => Duration::try_seconds(n.as_i64()?),
        Value::String(text) => {
            let text = text.trim();
            let split = text.find(|c: char| !c.is_ascii_digit())?;
            let (number, unit) = text.split_at(split);
            let n: i64 = number.parse().ok()?;
            match unit {
                "s" => Duration::try_seconds(n),
                "m" => Duration::try_minutes(n),
                "h" => Duration::try_hours(n),
                "d" => Duration::try_days(n),
                "w" => Duration::try_weeks(n),
                _ => None,
            }
        }
        _ => None,
    }
}

async fn move_clock(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Reply {
    let request: ClockMove = body(&bytes)?;
    let now = match (request.advance, request.to) {
        (Some(advance), None) => {
            let by = parse_duration(&advance).filter(|d| *d >= Duration::zero() && *d <= MAX_CLOCK_STEP).ok_or_else(|| ApiError::bad_request("advance must be like \"1h\", \"7d\" or a number of seconds, up to 400 days"))?;
            shared.clock.advance(by).map_err(|now| {
                ApiError::bad_request(format!(
                    "the clock goes no further than the year 9999; it is {}",
                    wire::iso(now)
                ))
            })?
        }
        (None, Some(to)) => {
            let to = DateTime::parse_from_rfc3339(&to)
                .map_err(|_| ApiError::bad_request("to must be an ISO 8601 date-time"))?
                .with_timezone(&Utc);
            if to - shared.now() > MAX_CLOCK_STEP {
                return Err(ApiError::bad_request("to may be at most 400 days ahead"));
            }
            shared.clock.set(to).map_err(|now| {
                ApiError::bad_request(format!(
                    "time only moves forward; it is already {}",
                    wire::iso(now)
                ))
            })?
        }
        _ => return Err(ApiError::bad_request("give either advance or to")),
    };
    // Catch the world up now, so the answer reflects the new time.
    drop(shared.world());
    Ok(axum::Json(json!({ "now": wire::iso(now) })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Reset {
    seed: Option<u64>,
}

async fn reset(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Reply {
    let request: Reset = body(&bytes)?;
    let now = shared.now();
    let mut world = shared.world_as_is();
    let seed = request.seed.unwrap_or(world.seed);
    // A later revision, so the reset world is saved even when the old one was never changed.
    let revision = world.revision + 1;
    *world = World::new(seed, now, shared.config.sync_window);
    world.readings = shared.config.readings.clone();
    world.revision = revision;
    drop(world);
    let mut oidc = lock(&shared.oidc);
    *oidc = crate::state::OidcState::default();
    lock(&shared.faults).rules.clear();
    Ok(StatusCode::NO_CONTENT.into_response())
}

const SCENARIOS: &[(&str, &str)] = &[
    (
        "everyday",
        "A healthy set: a Monzo current and savings account, a Barclaycard and an Aviva pension.",
    ),
    (
        "needs-attention",
        "One connection in each state that needs the user: consent expiring in 3 days, legacy MFA, a credentials error, intermittent errors, a bank that is down, a single-sync-only legacy connection, and a bank that issues a new connection id on reauth.",
    ),
    (
        "expired",
        "A Lloyds connection whose consent has expired (reconsent available) and a Halifax one that needs a full reauth.",
    ),
];

async fn list_scenarios() -> Reply {
    Ok(axum::Json(
        SCENARIOS
            .iter()
            .map(|(name, description)| json!({ "name": name, "description": description }))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScenarioRequest {
    client_id: Option<String>,
}

async fn load_scenario(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    bytes: axum::body::Bytes,
) -> Reply {
    let request: ScenarioRequest = body(&bytes)?;
    let client_id = request
        .client_id
        .unwrap_or_else(|| DEMO_CLIENT_ID.to_string());
    if !lock(&shared.clients).contains_key(&client_id) {
        return Err(ApiError::not_found("No such client"));
    }
    let (user_id, connection_ids) = load_persona(&shared, &name, &client_id)
        .ok_or_else(|| ApiError::not_found("No such scenario"))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(
            json!({ "userId": user_id, "clientId": client_id, "connectionIds": connection_ids }),
        ),
    )
        .into_response())
}

/// The most one populate call may make: the world is built under its lock.
const MAX_POPULATED_CONNECTIONS: usize = 2_000;
/// The most users and connections the world holds in all, however many calls fill it: it lives
/// in the app's memory and is saved whole every few seconds.
pub const MAX_WORLD_USERS: usize = 10_000;
pub const MAX_WORLD_CONNECTIONS: usize = 20_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PopulateRequest {
    client_id: Option<String>,
    users: Option<usize>,
    connections_per_user: usize,
    #[serde(default)]
    business: bool,
}

async fn populate_route(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Reply {
    let request: PopulateRequest = body(&bytes)?;
    let client_id = request
        .client_id
        .unwrap_or_else(|| DEMO_CLIENT_ID.to_string());
    if !lock(&shared.clients).contains_key(&client_id) {
        return Err(ApiError::not_found("No such client"));
    }
    // Each number on its own first: `users` alone sizes what is built, whatever the product.
    let users = request.users.unwrap_or(1);
    let per_user = request.connections_per_user;
    let total = users.checked_mul(per_user);
    if !(1..=MAX_POPULATED_CONNECTIONS).contains(&users)
        || per_user > MAX_POPULATED_CONNECTIONS
        || total.is_none_or(|total| total > MAX_POPULATED_CONNECTIONS)
    {
        return Err(ApiError::bad_request(format!(
            "users must be 1 to {MAX_POPULATED_CONNECTIONS}, and users × connectionsPerUser at most {MAX_POPULATED_CONNECTIONS}"
        )));
    }
    {
        let world = shared.world_as_is();
        if world.users.len() + users > MAX_WORLD_USERS
            || world.connections.len() + total.unwrap_or(0) > MAX_WORLD_CONNECTIONS
        {
            return Err(ApiError::bad_request(format!(
                "the world holds at most {MAX_WORLD_USERS} users and {MAX_WORLD_CONNECTIONS} connections; reset it first"
            )));
        }
    }
    let user_ids = populate(
        &shared,
        &client_id,
        users,
        request.connections_per_user,
        request.business,
    );
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "userIds": user_ids, "clientId": client_id })),
    )
        .into_response())
}

/// Fills the world with `users` users of `client_id`, each with `connections_per_user` healthy
/// connections and their full history: for large demos and benchmarks. Returns the user ids.
pub(crate) fn populate(
    shared: &Shared,
    client_id: &str,
    users: usize,
    connections_per_user: usize,
    business: bool,
) -> Vec<String> {
    let now = shared.now();
    let mut world = shared.world();
    let banks: Vec<String> = world
        .catalogue
        .all()
        .iter()
        .filter(|i| i.script == crate::catalogue::Script::Healthy)
        .filter(|i| {
            if business {
                i.business
            } else {
                i.account_types == ["cash:current", "card"]
            }
        })
        .map(|i| i.id.clone())
        .collect();
    let mut ids = Vec::with_capacity(users);
    for n in 0..users {
        let user = world.create_user(client_id, Some(format!("bulk-{n}")), now);
        for c in 0..connections_per_user {
            let bank = &banks[(n + c) % banks.len()];
            let accounts = if business {
                vec![0, 0, 0]
            } else {
                vec![0, 0, 1]
            };
            let selection = crate::world::Selection { accounts };
            world.create_connection(&user.id, bank, &selection, None, now);
        }
        ids.push(user.id);
    }
    // Bring in every connection's background history now rather than in two minutes.
    world.catch_up(now + crate::world::BACKGROUND_HISTORY_DELAY);
    ids
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ForceState {
    /// Make syncs fail this way until the user's fix.
    error: Option<ConnectionError>,
    /// Set the consent end (past dates expire the connection).
    expires_at: Option<String>,
    /// Pretend the last successful update was then (e.g. to reach `resync`).
    last_updated: Option<String>,
    /// Clear forced errors and mark the connection healthy.
    heal: Option<bool>,
    /// Moneyhub has not finished the connection's first sync: `status: never`, no update yet
    /// (the state `moneyhub-api.md` lists as `never`).
    never_synced: Option<bool>,
    /// Whether the bank lets the consent be renewed without the bank (`tppConsent`).
    tpp_consent: Option<bool>,
}

async fn force_state(
    State(shared): State<Arc<Shared>>,
    Path(connection_id): Path<String>,
    bytes: axum::body::Bytes,
) -> Reply {
    let request: ForceState = body(&bytes)?;
    let parse = |text: &Option<String>, name: &str| -> Result<Option<DateTime<Utc>>, ApiError> {
        text.as_deref()
            .map(|t| {
                DateTime::parse_from_rfc3339(t)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|_| ApiError::bad_request(format!("{name} must be ISO 8601")))
            })
            .transpose()
    };
    let expires_at = parse(&request.expires_at, "expiresAt")?;
    let last_updated = parse(&request.last_updated, "lastUpdated")?;
    let now = shared.now();
    let mut world = shared.world();
    let connection = world
        .connections
        .get_mut(&connection_id)
        .ok_or_else(|| ApiError::not_found("Connection not found"))?;
    if request.heal == Some(true) {
        connection.forced_error = None;
        connection.error = None;
        connection.extended_status = None;
        connection.failing_since = None;
        connection.awaiting_user = false;
        connection.status = Status::Ok;
    }
    if request.never_synced == Some(true) {
        connection.status = Status::Never;
        connection.last_updated = None;
        connection.last_synced_at = None;
        connection.awaiting_user = false;
    }
    if let Some(at) = expires_at {
        connection.expires_at = at;
    }
    if let Some(tpp_consent) = request.tpp_consent {
        connection.tpp_consent = tpp_consent;
    }
    if let Some(at) = last_updated {
        connection.last_updated = Some(at.min(now));
    }
    let error = request.error;
    if let Some(error) = error {
        connection.forced_error = Some(error);
    }
    world.invalidate_schedule();
    if error.is_some() || expires_at.is_some_and(|at| at <= now) {
        world.run_sync(&connection_id, SyncAction::AutoUpdate, now);
    }
    world.apply_staleness(&connection_id, now);
    let connection = world
        .connections
        .get(&connection_id)
        .ok_or_else(|| ApiError::not_found("Connection not found"))?;
    Ok(axum::Json(json!({ "data": wire::connection(connection) })).into_response())
}

async fn get_readings(State(shared): State<Arc<Shared>>) -> Reply {
    Ok(axum::Json(json!(shared.world().readings)).into_response())
}

/// Plays another reading of the docs from now on (every field given, so a test states all of
/// them).
async fn set_readings(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Reply {
    let readings: crate::world::Readings = body(&bytes)?;
    if readings.consent_refusal_words.len() > 200 {
        return Err(ApiError::bad_request(
            "consentRefusalWords may be at most 200 bytes",
        ));
    }
    shared.world().readings = readings;
    Ok(axum::Json(json!({})).into_response())
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Reply {
    Ok(axum::Json(json!(lock(&shared.faults).rules)).into_response())
}

async fn set_faults(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Reply {
    let rules: Vec<FaultRule> = serde_json::from_slice(&bytes)
        .map_err(|err| ApiError::bad_request(format!("Invalid fault rules: {err}")))?;
    if rules
        .iter()
        .any(|r| !(0.0..=1.0).contains(&r.rate) || r.path_prefix.is_empty())
    {
        return Err(ApiError::bad_request(
            "rate must be 0–1 and pathPrefix non-empty",
        ));
    }
    lock(&shared.faults).rules = rules;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Reply {
    lock(&shared.faults).rules.clear();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_clients(State(shared): State<Arc<Shared>>) -> Reply {
    let clients: Vec<Value> = shared
        .clients()
        .values()
        .map(|c| json!({ "clientId": c.client_id, "redirectUris": c.redirect_uris, "tokenEndpointAuthMethod": c.token_endpoint_auth_method, "requestObjectSigningAlg": c.request_object_signing_alg }))
        .collect();
    Ok(axum::Json(clients).into_response())
}

async fn register_client(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Reply {
    let client: ApiClient = serde_json::from_slice(&bytes)
        .map_err(|err| ApiError::bad_request(format!("Invalid client: {err}")))?;
    if client.client_id.is_empty() || client.redirect_uris.is_empty() {
        return Err(ApiError::bad_request(
            "clientId and at least one redirect URI are required",
        ));
    }
    let consistent = match client.token_endpoint_auth_method {
        crate::clients::AuthMethod::ClientSecretBasic => {
            client.client_secret.as_ref().is_some_and(|s| !s.is_empty())
        }
        crate::clients::AuthMethod::PrivateKeyJwt => client
            .jwks
            .as_ref()
            .and_then(|j| j.get("keys"))
            .and_then(Value::as_array)
            .is_some_and(|k| !k.is_empty()),
    };
    if !consistent {
        return Err(ApiError::bad_request(
            "client_secret_basic needs a clientSecret; private_key_jwt needs a jwks with keys",
        ));
    }
    if ApiClient::is_built_in(&client.client_id) {
        // Replacing it would break Demo for good: the app holds this client's secret.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            "a built-in client cannot be replaced",
        ));
    }
    lock(&shared.clients).insert(client.client_id.clone(), client.clone());
    // Saved with the world: a new client is a change to keep.
    shared.changed();
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "clientId": client.client_id })),
    )
        .into_response())
}

async fn banks(State(shared): State<Arc<Shared>>) -> Reply {
    let world = shared.world();
    let banks: Vec<Value> = world
        .catalogue
        .all()
        .iter()
        .map(|i| json!({ "id": i.id, "name": i.name, "type": i.kind, "script": i.script, "sync": i.sync, "auth": i.auth, "accountTypes": i.account_types, "historyMonths": i.history_months, "dailySyncCap": i.daily_sync_cap() }))
        .collect();
    Ok(axum::Json(banks).into_response())
}

/// The bank deletes a transaction: Moneyhub no longer lists it.
async fn delete_transaction(
    State(shared): State<Arc<Shared>>,
    Path(transaction_id): Path<String>,
) -> Reply {
    let id = uuid::Uuid::parse_str(&transaction_id)
        .map_err(|_| ApiError::bad_request("a transaction id is a UUID"))?;
    if !shared.world().delete_at_source(id) {
        return Err(ApiError::not_found("Transaction not found"));
    }
    Ok(axum::Json(json!({})).into_response())
}

async fn recent_webhooks(State(shared): State<Arc<Shared>>) -> Reply {
    let events: Vec<_> = lock(&shared.recent_webhooks).iter().cloned().collect();
    Ok(axum::Json(events).into_response())
}

/// Switches signing to the next key; the old one stays published, as a provider rotating keys
/// would do. Clients must fetch the key set again when a token names an unknown `kid`.
async fn rotate_keys(State(shared): State<Arc<Shared>>) -> Reply {
    let next = crate::keys::SigningKey::from_pem(crate::keys::NEXT_IDENTITY_SIGNING_KEY_PEM)
        .map_err(ApiError::internal)?;
    let mut keys = lock(&shared.keys);
    if keys.iter().any(|k| k.kid == next.kid) {
        return Err(ApiError::bad_request("already rotated"));
    }
    let kid = next.kid.clone();
    keys.push(next);
    Ok(axum::Json(json!({ "kid": kid })).into_response())
}

/// The persona names and what each shows.
pub const PERSONAS: &[(&str, &str)] = SCENARIOS;

/// Creates a persona: a user of `client_id` with connections in the states the name promises.
/// `None` for an unknown name.
pub fn load_persona(shared: &Shared, name: &str, client_id: &str) -> Option<(String, Vec<String>)> {
    let banks: &[&str] = match name {
        "everyday" => &["Monzo", "Barclaycard", "Aviva"],
        "needs-attention" => &[
            "Sandbox Bank (consent expires in 3 days)",
            "Hargreaves Lansdown",
            "Scottish Widows",
            "Ulster Bank",
            "Danske Bank",
            "Vanguard Investor",
            "Sandbox Bank (new id on reauth)",
        ],
        "expired" => &["Lloyds Bank", "Halifax"],
        _ => return None,
    };
    let now = shared.now();
    let mut world = shared.world();
    let user = world.create_user(client_id, Some(format!("scenario-{name}")), now);
    let mut connection_ids = Vec::new();
    for bank_name in banks {
        let Some(institution) = world
            .catalogue
            .all()
            .iter()
            .find(|i| i.name == *bank_name)
            .cloned()
        else {
            continue;
        };
        let selection = Selection {
            accounts: (0..institution.account_types.len()).collect(),
        };
        let Some(id) = world.create_connection(&user.id, &institution.id, &selection, None, now)
        else {
            continue;
        };
        match institution.script {
            // Show the state the script leads to straight away.
            Script::LegacyMfa | Script::CredentialsError | Script::Unavailable => {
                world.run_sync(&id, SyncAction::AutoUpdate, now);
            }
            // Every other sync fails: the second one shows it.
            Script::IntermittentErrors => {
                world.run_sync(&id, SyncAction::AutoUpdate, now);
                world.run_sync(&id, SyncAction::AutoUpdate, now);
            }
            _ => {}
        }
        world.invalidate_schedule();
        if name == "expired" {
            if let Some(connection) = world.connections.get_mut(&id) {
                connection.expires_at = now - Duration::days(1);
                connection.tpp_consent = institution.name != "Halifax";
            }
            world.run_sync(&id, SyncAction::AutoUpdate, now);
        }
        connection_ids.push(id);
    }
    Some((user.id, connection_ids))
}
