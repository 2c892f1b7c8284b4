//! Identity REST routes: users, their connections and sync history. Bearer client-credentials
//! tokens; both the scope names Moneyhub's client uses (`connection:*`) and those its reference
//! documents (`user:*`) are accepted.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::bearer::{self, TokenClaims};
use crate::error::ApiError;
use crate::state::Shared;
use crate::wire;
use crate::world::{MAX_CONSENT, RouteScopes};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{user_id}", get(get_user).delete(delete_user))
        .route("/users/{user_id}/connections", get(list_connections))
        .route(
            "/users/{user_id}/connections/{connection_id}",
            get(get_connection)
                .patch(update_connection)
                .delete(delete_connection),
        )
        .route(
            "/users/{user_id}/connection/{connection_id}",
            delete(delete_connection),
        )
        .route(
            "/users/{user_id}/connections/{connection_id}/syncs",
            get(connection_syncs),
        )
        .route("/users/{user_id}/syncs", get(user_syncs))
        .route("/users/{user_id}/syncs/{sync_id}", get(one_sync))
}

type Reply = Result<Response, ApiError>;

/// Moneyhub's documented bound on `offset`.
const MAX_OFFSET: usize = 1_000_000_000;

#[derive(Debug, Deserialize)]
pub struct Paging {
    limit: Option<String>,
    offset: Option<String>,
}

impl Paging {
    /// Unparseable values are a 400; absent ones take the defaults.
    pub fn resolve(
        &self,
        default_limit: usize,
        max_limit: usize,
    ) -> Result<(usize, usize), ApiError> {
        let parse =
            |value: &Option<String>, name: &str, default: usize| -> Result<usize, ApiError> {
                match value {
                    None => Ok(default),
                    Some(text) => text.parse::<usize>().map_err(|_| {
                        ApiError::bad_request(format!("{name} must be a non-negative integer"))
                    }),
                }
            };
        let limit = parse(&self.limit, "limit", default_limit)?;
        if limit == 0 || limit > max_limit {
            return Err(ApiError::bad_request(format!(
                "limit must be 1 to {max_limit}"
            )));
        }
        let offset = parse(&self.offset, "offset", 0)?;
        if offset > MAX_OFFSET {
            return Err(ApiError::bad_request(format!(
                "offset must be at most {MAX_OFFSET}"
            )));
        }
        Ok((limit, offset))
    }
}

/// The preamble of every per-user route: a valid token, one of `scopes`, and a user of the
/// token's client.
fn authorize_for_user(
    shared: &Shared,
    headers: &HeaderMap,
    scopes: &[&str],
    user_id: &str,
) -> Result<TokenClaims, ApiError> {
    let claims = bearer::authenticate(shared, headers)?;
    claims.require_any(scopes)?;
    owned_user(shared, &claims, user_id)?;
    Ok(claims)
}

/// An identity route whose scope Moneyhub's Node client and its API reference name
/// differently (`moneyhub-api.md` §4.2).
#[derive(Debug, Clone, Copy)]
enum DisputedRoute {
    UpdateConnection,
    DeleteConnection,
    Syncs,
    DeleteUser,
}

/// Each acceptable set of scopes for `route` under the reading played: a token passes with
/// every scope of any one set.
fn disputed_scopes(reading: RouteScopes, route: DisputedRoute) -> Vec<&'static [&'static str]> {
    let (node_client, api_reference): (&[&str], &[&str]) = match route {
        DisputedRoute::UpdateConnection => (&["connection:update"], &["user:update"]),
        DisputedRoute::DeleteConnection => (&["connection:delete"], &["user:delete"]),
        DisputedRoute::Syncs => (&["connection:read"], &["user:read"]),
        DisputedRoute::DeleteUser => (&["user:delete"], &["user:read", "user:delete"]),
    };
    match reading {
        RouteScopes::Either => vec![node_client, api_reference],
        RouteScopes::NodeClient => vec![node_client],
        RouteScopes::ApiReference => vec![api_reference],
    }
}

fn authorize_disputed(
    shared: &Shared,
    headers: &HeaderMap,
    route: DisputedRoute,
    user_id: &str,
) -> Result<TokenClaims, ApiError> {
    let claims = bearer::authenticate(shared, headers)?;
    let reading = shared.world().readings.route_scopes;
    let sets = disputed_scopes(reading, route);
    if !sets
        .iter()
        .any(|set| set.iter().all(|scope| claims.has(scope)))
    {
        let wanted: Vec<String> = sets.iter().map(|set| set.join(" and ")).collect();
        return Err(ApiError::forbidden(format!(
            "Invalid scopes: requires {}",
            wanted.join(" or ")
        )));
    }
    owned_user(shared, &claims, user_id)?;
    Ok(claims)
}

fn owned_user(shared: &Shared, claims: &TokenClaims, user_id: &str) -> Result<(), ApiError> {
    let world = shared.world();
    match world.users.get(user_id) {
        Some(user) if user.client_id == claims.client_id => Ok(()),
        _ => Err(ApiError::not_found("User not found")),
    }
}

#[derive(Debug, Deserialize)]
struct NewUser {
    #[serde(rename = "clientUserId")]
    client_user_id: Option<String>,
}

async fn create_user(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Reply {
    let claims = bearer::authenticate(&shared, &headers)?;
    claims.require_any(&["user:create"])?;
    let input: NewUser = if body.is_empty() {
        NewUser {
            client_user_id: None,
        }
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::bad_request("The body must be JSON like {\"clientUserId\": \"…\"}")
        })?
    };
    if input
        .client_user_id
        .as_ref()
        .is_some_and(|id| id.len() > 256)
    {
        return Err(ApiError::bad_request("clientUserId is too long"));
    }
    let now = shared.now();
    let mut world = shared.world();
    // Moneyhub's own limit is not published; the sandbox's world lives in the app's memory.
    if world.users.len() >= crate::admin::MAX_WORLD_USERS {
        return Err(ApiError::bad_request(format!(
            "The sandbox holds at most {} users",
            crate::admin::MAX_WORLD_USERS
        )));
    }
    let user = world.create_user(&claims.client_id, input.client_user_id, now);
    Ok((StatusCode::CREATED, axum::Json(wire::user(&world, &user))).into_response())
}

async fn list_users(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Reply {
    let claims = bearer::authenticate(&shared, &headers)?;
    claims.require_any(&["user:read"])?;
    let (limit, offset) = paging.resolve(10, 1000)?;
    let world = shared.world();
    let users: Vec<_> = world
        .users
        .values()
        .filter(|u| u.client_id == claims.client_id)
        .collect();
    let page: Vec<Value> = users
        .iter()
        .skip(offset)
        .take(limit)
        .map(|u| wire::user(&world, u))
        .collect();
    Ok(axum::Json(
        json!({ "data": page, "meta": { "total": users.len(), "limit": limit, "offset": offset } }),
    )
    .into_response())
}

async fn get_user(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> Reply {
    authorize_for_user(&shared, &headers, &["user:read"], &user_id)?;
    let world = shared.world();
    let user = world
        .users
        .get(&user_id)
        .ok_or_else(|| ApiError::not_found("User not found"))?;
    Ok(axum::Json(wire::user(&world, user)).into_response())
}

async fn delete_user(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> Reply {
    authorize_disputed(&shared, &headers, DisputedRoute::DeleteUser, &user_id)?;
    shared.world().delete_user(&user_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_connections(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> Reply {
    authorize_for_user(
        &shared,
        &headers,
        &["connection:read", "user:read"],
        &user_id,
    )?;
    let world = shared.world();
    let data: Vec<Value> = world
        .user_connections(&user_id)
        .map(wire::connection)
        .collect();
    Ok(axum::Json(json!({ "data": data, "meta": {} })).into_response())
}

async fn get_connection(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((user_id, connection_id)): Path<(String, String)>,
) -> Reply {
    authorize_for_user(
        &shared,
        &headers,
        &["connection:read", "user:read"],
        &user_id,
    )?;
    let world = shared.world();
    let connection = world
        .connections
        .get(&connection_id)
        .filter(|c| c.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("Connection not found"))?;
    Ok(axum::Json(json!({ "data": wire::connection(connection), "meta": {} })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionUpdate {
    #[serde(rename = "expiresAt")]
    expires_at: String,
}

async fn update_connection(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((user_id, connection_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Reply {
    authorize_disputed(&shared, &headers, DisputedRoute::UpdateConnection, &user_id)?;
    let update: ConnectionUpdate = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("The body must be {\"expiresAt\": \"<ISO 8601>\"}"))?;
    let until = DateTime::parse_from_rfc3339(&update.expires_at)
        .map_err(|_| ApiError::bad_request("expiresAt must be an ISO 8601 date-time"))?
        .with_timezone(&Utc);
    let now = shared.now();
    if until > now + MAX_CONSENT {
        return Err(ApiError::bad_request(
            "expiresAt must be at most 90 days ahead",
        ));
    }
    let mut world = shared.world();
    let owned = world
        .connections
        .get(&connection_id)
        .is_some_and(|c| c.user_id == user_id);
    if !owned {
        return Err(ApiError::not_found("Connection not found"));
    }
    world.reconsent(&connection_id, Some(until), now);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_connection(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((user_id, connection_id)): Path<(String, String)>,
) -> Reply {
    authorize_disputed(&shared, &headers, DisputedRoute::DeleteConnection, &user_id)?;
    let mut world = shared.world();
    let owned = world
        .connections
        .get(&connection_id)
        .is_some_and(|c| c.user_id == user_id);
    if !owned {
        return Err(ApiError::not_found("Connection not found"));
    }
    world.delete_connection(&connection_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn connection_syncs(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((user_id, connection_id)): Path<(String, String)>,
    Query(paging): Query<Paging>,
) -> Reply {
    authorize_disputed(&shared, &headers, DisputedRoute::Syncs, &user_id)?;
    let (limit, offset) = paging.resolve(100, 1000)?;
    let world = shared.world();
    let syncs: Vec<_> = world
        .syncs
        .iter()
        .rev()
        .filter(|s| s.connection_id == connection_id && s.user_id == user_id)
        .filter(|s| world.shows_sync(s))
        .collect();
    let page: Vec<Value> = syncs
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| wire::sync(s, world.readings.running_sync_record))
        .collect();
    Ok(axum::Json(json!({ "data": page, "meta": { "total": syncs.len() } })).into_response())
}

async fn user_syncs(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    Query(paging): Query<Paging>,
) -> Reply {
    authorize_disputed(&shared, &headers, DisputedRoute::Syncs, &user_id)?;
    let (limit, offset) = paging.resolve(100, 1000)?;
    let world = shared.world();
    let syncs: Vec<_> = world
        .syncs
        .iter()
        .rev()
        .filter(|s| s.user_id == user_id)
        .filter(|s| world.shows_sync(s))
        .collect();
    let page: Vec<Value> = syncs
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| wire::sync(s, world.readings.running_sync_record))
        .collect();
    Ok(axum::Json(json!({ "data": page, "meta": { "total": syncs.len() } })).into_response())
}

async fn one_sync(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((user_id, sync_id)): Path<(String, String)>,
) -> Reply {
    authorize_disputed(&shared, &headers, DisputedRoute::Syncs, &user_id)?;
    let world = shared.world();
    let sync = world
        .syncs
        .iter()
        .find(|s| s.id.to_string() == sync_id && s.user_id == user_id)
        .filter(|s| world.shows_sync(s))
        .ok_or_else(|| ApiError::not_found("Sync not found"))?;
    let record = wire::sync(sync, world.readings.running_sync_record);
    Ok(axum::Json(json!({ "data": record, "meta": {} })).into_response())
}
