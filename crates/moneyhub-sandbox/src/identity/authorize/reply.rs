//! How an answer gets back to the client: a redirect to its registered URI in the request's
//! response mode (query, fragment or an auto-submitting form_post page), with the error
//! parameters node-oidc-provider uses.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::validation::{Params, string_param};
use crate::error::OAuthError;
use crate::identity::pages;
use crate::state::{ResponseMode, Shared};

/// Where errors go: the client's redirect URI when it is known and registered, a page otherwise.
pub(super) struct Reply {
    pub(super) redirect_uri: String,
    pub(super) mode: ResponseMode,
    pub(super) state: Option<String>,
}

pub(super) fn reply_for(params: &Params, redirect_uri: &str) -> Reply {
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

pub(super) fn connection_gone(shared: &Shared, reply: &Reply) -> Response {
    let err = OAuthError::new("invalid_claims", "the connection no longer exists");
    respond(shared, reply, error_params(&err, &shared.issuer, reply))
}

pub(super) fn error_params(err: &OAuthError, issuer: &str, reply: &Reply) -> Vec<(String, String)> {
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

pub(super) fn respond(_shared: &Shared, reply: &Reply, params: Vec<(String, String)>) -> Response {
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

pub(super) fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}
