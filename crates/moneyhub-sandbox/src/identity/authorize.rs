//! Authorization requests in the three styles Moneyhub accepts (pushed, request object by value,
//! plain parameters), their validation, and the bank journey that answers them.
//!
//! This module owns the shape of a checked request ([`AuthRequest`]); the work is split by
//! stage: `validation` (parameters and request objects against Moneyhub's rules), `endpoints`
//! (`POST /oidc/request` and `GET /oidc/auth`), `interaction` (the bank journey's pages up to the
//! issued code) and `reply` (how an answer travels back to the client's redirect URI).

mod endpoints;
mod interaction;
mod reply;
mod validation;

use chrono::{DateTime, Utc};

pub use endpoints::{authorize, pushed_authorization_request};
pub use interaction::{Interaction, interaction_page, interaction_submit};

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
