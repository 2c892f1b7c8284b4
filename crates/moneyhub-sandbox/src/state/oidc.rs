//! What the identity service remembers between requests: pushed authorization requests,
//! bank journeys in progress, issued codes and refresh tokens. Plain records; the rules that
//! create and consume them are in the `identity` handlers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::world::Selection;

/// Pushed requests, journeys in progress, codes and refresh tokens.
#[derive(Debug, Default)]
pub struct OidcState {
    pub pushed: HashMap<String, (AuthRequest, DateTime<Utc>)>,
    pub interactions: HashMap<String, Interaction>,
    pub codes: HashMap<String, AuthCode>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
}

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

#[derive(Debug, Clone)]
pub enum CodeOutcome {
    /// Created when the code is exchanged.
    NewConnection {
        bank_id: String,
        selection: Selection,
        consent_until: Option<DateTime<Utc>>,
    },
    /// Reauth, reconsent and refresh are applied when the user agrees; this is the result.
    Connection(String),
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub scope: String,
    pub offline_access: bool,
    pub auth_time: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub outcome: CodeOutcome,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub connection_id: String,
    pub auth_time: DateTime<Utc>,
}
