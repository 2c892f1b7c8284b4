//! The OIDC identity service: discovery, JWKS, the well-known bank lists and icons, pushed
//! authorization requests, the authorization endpoint with its bank-journey pages, and the
//! token endpoint. Behaviour follows node-oidc-provider (which Moneyhub runs) and Moneyhub's
//! published rules for scopes and claims.

mod authorize;
mod pages;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::catalogue::{Availability, WellKnownList, account_type_category};
use crate::state::Shared;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oidc/.well-known/openid-configuration", get(discovery))
        .route("/oidc/.well-known/{list}", get(well_known_list))
        .route("/oidc/certs", get(jwks))
        .route(
            "/oidc/request",
            post(authorize::pushed_authorization_request),
        )
        .route("/oidc/auth", get(authorize::authorize))
        .route(
            "/oidc/interaction/{id}",
            get(authorize::interaction_page).post(authorize::interaction_submit),
        )
        .route("/oidc/token", post(token::token))
        .route("/bank-icons/{bank_ref}", get(bank_icon))
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    let issuer = &shared.issuer;
    let mut scopes = vec![
        "openid",
        "offline_access",
        "id:all",
        "id:api",
        "id:legacy",
        "id:test",
        "id:zoopla",
        "id:mouseprice",
        "id:autotrader",
        "reauth",
        "reconsent",
        "refresh",
        "accounts:read",
        "accounts:write",
        "accounts:write:all",
        "accounts_details:read",
        "transactions:read:all",
        "transactions:read:in",
        "transactions:read:out",
        "regular_transactions:read",
        "regular_transactions:write",
        "user:create",
        "user:read",
        "user:update",
        "user:delete",
        "connection:read",
        "connection:update",
        "connection:delete",
    ]
    .into_iter()
    .map(str::to_string)
    .collect::<Vec<_>>();
    scopes.extend(
        shared
            .world()
            .catalogue
            .all()
            .iter()
            .map(|i| format!("id:{}", i.id)),
    );
    let mut body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/certs"),
        "pushed_authorization_request_endpoint": format!("{issuer}/request"),
        "response_types_supported": ["code", "code id_token"],
        "response_modes_supported": ["form_post", "fragment", "query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "request_object_signing_alg_values_supported": ["none", "RS256", "PS256"],
        "request_parameter_supported": true,
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": true,
        "claims_parameter_supported": true,
        "claims_supported": ["sub", "auth_time", "iss", "mh:con_id", "mh:consent", "mh:sync"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["public"],
        "claim_types_supported": ["normal"],
        "scopes_supported": scopes,
    });
    for list in [
        "all",
        "api",
        "legacy",
        "test",
        "beta",
        "zoopla",
        "mouseprice",
        "autotrader",
    ] {
        body[format!("{list}_connections_endpoint")] =
            json!(format!("{issuer}/.well-known/{list}-connections"));
    }
    axum::Json(body).into_response()
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.jwks()).into_response()
}

/// `GET /oidc/.well-known/{name}-connections`: a bare array. Unknown query strings (Moneyhub's
/// own client sends `?undefined`) are ignored.
async fn well_known_list(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let Some(list) = name
        .strip_suffix("-connections")
        .and_then(WellKnownList::parse)
    else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "not_found" })),
        )
            .into_response();
    };
    let world = shared.world();
    let entries: Vec<Value> = world
        .catalogue
        .list(list)
        .map(|institution| {
            let mut categories: Vec<&str> = Vec::new();
            for account_type in institution.account_types {
                let category = account_type_category(account_type);
                if !categories.contains(&category) {
                    categories.push(category);
                }
            }
            json!({
                "id": institution.id,
                "name": institution.name,
                "type": institution.kind.as_str(),
                "country": "GB",
                "bankRef": institution.bank_ref,
                "parentRef": institution.bank_ref,
                "isBeta": institution.is_beta,
                "iconUrl": format!("{}/bank-icons/{}", shared.base_url, institution.bank_ref),
                "accountTypes": categories.iter().map(|name| json!({ "name": name, "beta": false })).collect::<Vec<_>>(),
                "userTypes": if institution.business { json!(["business"]) } else { json!(["personal"]) },
                "payments": if institution.kind.is_open_banking() { json!(["domestic"]) } else { json!([]) },
                "status": { "sync": institution.sync, "auth": institution.auth },
                "monthsInitialConsent": institution.history_months,
            })
        })
        .collect();
    axum::Json(entries).into_response()
}

#[derive(Debug, serde::Deserialize)]
struct IconQuery {
    #[serde(rename = "defaultIcon")]
    default_icon: Option<String>,
}

/// Bank icons as SVG: a coloured tile with the bank's initials. Unknown refs are 404 unless
/// `defaultIcon=true`, like Moneyhub's.
async fn bank_icon(
    State(shared): State<Arc<Shared>>,
    Path(bank_ref): Path<String>,
    Query(query): Query<IconQuery>,
) -> Response {
    let name = shared
        .world()
        .catalogue
        .by_bank_ref(&bank_ref)
        .map(|i| i.name.to_string());
    let (label, hue) = match name {
        Some(name) => (initials(&name), hue_of(&bank_ref)),
        None if bank_ref == "default" || query.default_icon.as_deref() == Some("true") => {
            ("£".to_string(), 200)
        }
        None => return (StatusCode::NOT_FOUND, "no icon").into_response(),
    };
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64"><rect width="64" height="64" rx="14" fill="hsl({hue},55%,38%)"/><text x="32" y="41" text-anchor="middle" font-family="sans-serif" font-size="24" font-weight="700" fill="#fff">{}</text></svg>"##,
        pages::escape(&label)
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg,
    )
        .into_response()
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter(|word| word.chars().next().is_some_and(char::is_alphanumeric))
        .take(2)
        .filter_map(|word| word.chars().next())
        .collect::<String>()
        .to_uppercase()
}

fn hue_of(text: &str) -> u32 {
    text.bytes().fold(7u32, |acc, byte| {
        acc.wrapping_mul(31).wrapping_add(u32::from(byte))
    }) % 360
}

/// Whether a provider currently lets people start a journey.
pub fn journey_blocked(auth: Availability) -> bool {
    matches!(
        auth,
        Availability::PermanentlyUnavailable | Availability::TemporarilyUnavailable
    )
}
