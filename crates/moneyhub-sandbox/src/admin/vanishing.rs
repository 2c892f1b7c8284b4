//! Admin routes that make data disappear at the source, as it does at Moneyhub: a connection
//! deleted elsewhere (another app of the same API client, Moneyhub's admin portal), an account
//! closed at the bank, a deleted user, pending transactions that post under new ids.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::Shared;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/connections/{connection_id}/remove-elsewhere",
            post(remove_elsewhere),
        )
        .route(
            "/connections/{connection_id}/post-pending",
            post(post_pending),
        )
        .route("/accounts/{account_id}/close", post(close_account))
        .route("/users/{user_id}", delete(delete_user))
}

type Reply = Result<Response, ApiError>;

async fn remove_elsewhere(
    State(shared): State<Arc<Shared>>,
    Path(connection_id): Path<String>,
) -> Reply {
    shared
        .world()
        .delete_connection(&connection_id)
        .ok_or_else(|| ApiError::not_found("No such connection"))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Every pending transaction of the connection posts now under a new id.
async fn post_pending(
    State(shared): State<Arc<Shared>>,
    Path(connection_id): Path<String>,
) -> Reply {
    let now = shared.now();
    let mut world = shared.world();
    let accounts = world
        .connections
        .get(&connection_id)
        .map(|c| c.account_ids.clone())
        .ok_or_else(|| ApiError::not_found("No such connection"))?;
    let mut reissued = Vec::new();
    for account in accounts {
        let pending = world.pending_of(account);
        reissued.extend(world.reissue_as_posted(account, &pending, now));
    }
    Ok(axum::Json(json!({ "reissued": reissued })).into_response())
}

async fn close_account(State(shared): State<Arc<Shared>>, Path(account_id): Path<String>) -> Reply {
    let id = Uuid::parse_str(&account_id)
        .map_err(|_| ApiError::bad_request("the account id must be a UUID"))?;
    if !shared.world().close_account(id) {
        return Err(ApiError::not_found("No such account"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_user(State(shared): State<Arc<Shared>>, Path(user_id): Path<String>) -> Reply {
    shared
        .world()
        .delete_user(&user_id)
        .ok_or_else(|| ApiError::not_found("No such user"))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
