//! The two ways a request comes in: `POST /oidc/request` (PAR: authenticate the client, check
//! and store the request behind a single-use `request_uri`) and `GET /oidc/auth` (a pushed
//! `request_uri`, a request object by value or plain parameters), which starts the journey.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde_json::{Value, json};

use super::reply::{Reply, error_params, reply_for, respond, see_other};
use super::validation::{
    check_connection, check_user, client_and_redirect, params_from_pairs, request_object,
    string_param, validate,
};
use crate::clients;
use crate::clock::lock;
use crate::error::OAuthError;
use crate::identity::pages;
use crate::keys;
use crate::state::{FlowKind, Interaction, Shared};

const PUSHED_REQUEST_LIFETIME: i64 = 60;
const INTERACTION_LIFETIME: Duration = Duration::hours(1);

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
            // RFC 9126 §4: a client_id beside request_uri must be the one that pushed it.
            Some((request, _))
                if string_param(&query_params, "client_id")
                    .is_some_and(|id| id != request.client_id) =>
            {
                return pages::error_page(
                    StatusCode::BAD_REQUEST,
                    "This sign-in link was made for another app. Go back to the app and start again.",
                );
            }
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
