//! Bearer tokens on the REST and Data API routes: signature, expiry (by the sandbox clock), the
//! client still registered, and the scopes a route needs; and [`DataUser`], the extractor that
//! does all of that for a Data API route and hands it the user the token is bound to.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::DateTime;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::Shared;

#[derive(Debug, Clone, Deserialize)]
pub struct TokenClaims {
    pub client_id: String,
    #[serde(default)]
    pub sub: Option<String>,
    pub scope: String,
    pub exp: i64,
}

impl TokenClaims {
    pub fn has(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }

    /// Any one of `alternatives` (Moneyhub's docs and client disagree on some scope names).
    pub fn require_any(&self, alternatives: &[&str]) -> Result<(), ApiError> {
        if alternatives.iter().any(|scope| self.has(scope)) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "Invalid scopes: requires {}",
                alternatives.join(" or ")
            )))
        }
    }

    /// The user a data token is bound to (`sub`).
    pub fn user(&self) -> Result<&str, ApiError> {
        self.sub
            .as_deref()
            .ok_or_else(|| ApiError::forbidden("This token is not bound to a user (sub)"))
    }
}

pub fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<TokenClaims, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("Missing authorization header"))?;
    let claims: TokenClaims = shared
        .verify(token.trim())
        .map_err(|_| ApiError::unauthorized("Invalid access Token"))?;
    let expired = DateTime::from_timestamp(claims.exp, 0).is_none_or(|exp| exp <= shared.now());
    if expired {
        return Err(ApiError::unauthorized("Invalid access Token: expired"));
    }
    if !crate::clock::lock(&shared.clients).contains_key(&claims.client_id) {
        return Err(ApiError::unauthorized(
            "Invalid access Token: unknown client",
        ));
    }
    Ok(claims)
}

/// The scopes a route needs: every group in order, any one scope of a group (Moneyhub's docs
/// and client disagree on some names). A type rather than a value so that a handler's
/// signature names what it requires.
pub trait Scopes {
    const REQUIRED: &'static [&'static [&'static str]];
}

/// A Data API caller: a valid token ([`authenticate`]), the route's [`Scopes`], and the user
/// the token is bound to (`sub`), checked in that order so the errors come out as they always
/// did. Put it after the `Path`/`Query` extractors: they were read before the token, and a bad
/// path or query still answers first.
#[derive(Debug)]
pub struct DataUser<S> {
    pub claims: TokenClaims,
    pub user: String,
    scopes: PhantomData<fn() -> S>,
}

impl<S: Scopes> FromRequestParts<Arc<Shared>> for DataUser<S> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        Self::check(shared, &parts.headers)
    }
}

impl<S: Scopes> DataUser<S> {
    /// The extractor's checks, for a handler that must read its body before the token.
    pub fn check(shared: &Shared, headers: &HeaderMap) -> Result<Self, ApiError> {
        let claims = authenticate(shared, headers)?;
        for alternatives in S::REQUIRED {
            claims.require_any(alternatives)?;
        }
        let user = claims.user()?.to_string();
        Ok(Self {
            claims,
            user,
            scopes: PhantomData,
        })
    }
}
