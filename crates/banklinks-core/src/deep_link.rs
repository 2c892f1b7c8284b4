//! `banklinks://` links, parsed into a typed value before anything else sees them.
//!
//! Two links exist: the identity service's redirect at the end of a bank journey
//! (`banklinks://callback?code=…&state=…`, or in the fragment for `response_type=code id_token`)
//! and `banklinks://connections/<connection id>`, which opens one connection (notifications use
//! it). Anything else is rejected. Authorization codes and id_tokens are held as [`Sensitive`]
//! and every human-readable form ([`DeepLink::redacted`], [`DeepLinkError`]'s messages) leaves
//! them out, because the raw URL is a bearer credential for a few minutes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::sensitive::Sensitive;

pub const SCHEME: &str = "banklinks";

/// Longer than any real callback (an id_token is ~1–2 KiB) but small enough that a hostile link
/// cannot make us log or parse megabytes.
pub const MAX_LINK_LEN: usize = 16 * 1024;

const MAX_STATE_LEN: usize = 512;
const MAX_ERROR_DESCRIPTION_LEN: usize = 1024;
const MAX_CONNECTION_ID_LEN: usize = 128;

/// A link Banklinks understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeepLink {
    AuthCallback(AuthCallback),
    OpenConnection { connection_id: String },
}

/// The identity service's answer to an authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCallback {
    /// Binds the answer to the pending authorization that asked for it.
    pub state: String,
    /// RFC 9207 issuer, when the server sends it.
    pub issuer: Option<String>,
    pub outcome: AuthOutcome,
    /// Where the parameters came from: the query (`response_type=code`) or the fragment
    /// (`code id_token`). A client must only accept the location it asked for.
    pub location: ResponseLocation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    Granted {
        code: Sensitive<String>,
        id_token: Option<Sensitive<String>>,
    },
    Refused {
        error: String,
        description: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ResponseLocation {
    Query,
    Fragment,
}

/// Why a link was turned away. The messages never contain the link's parameter values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeepLinkError {
    #[error("the link is {len} bytes, over the {MAX_LINK_LEN}-byte limit")]
    TooLong { len: usize },
    #[error("not a valid URL")]
    NotAUrl,
    #[error("the scheme is not {SCHEME}://")]
    WrongScheme,
    #[error("the link names no known destination ({0})")]
    UnknownTarget(SafeText),
    #[error("the link carries a user name or password")]
    HasCredentials,
    #[error("the callback has parameters in both the query and the fragment")]
    AmbiguousLocation,
    #[error("the parameter {0} appears more than once")]
    DuplicateParameter(&'static str),
    #[error("the callback has no state")]
    MissingState,
    #[error("the callback has neither a code nor an error")]
    MissingOutcome,
    #[error("the callback has both a code and an error")]
    ConflictingOutcome,
    #[error("the parameter {0} is empty, too long or has characters it may not have")]
    BadParameter(&'static str),
    #[error("the connection id is empty, too long or has characters it may not have")]
    BadConnectionId,
}

/// Text taken from a hostile link that is shown only when it is short and plain; otherwise a
/// description of it stands in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeText(String);

impl SafeText {
    fn from_untrusted(text: &str) -> Self {
        let plain = text.len() <= 32
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
        if plain {
            Self(format!("\"{text}\""))
        } else {
            Self(format!("{} unprintable bytes", text.len()))
        }
    }
}

impl fmt::Display for SafeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DeepLink {
    type Err = DeepLinkError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if raw.len() > MAX_LINK_LEN {
            return Err(DeepLinkError::TooLong { len: raw.len() });
        }
        let url = Url::parse(raw).map_err(|_| DeepLinkError::NotAUrl)?;
        Self::try_from(&url)
    }
}

impl TryFrom<&Url> for DeepLink {
    type Error = DeepLinkError;

    fn try_from(url: &Url) -> Result<Self, Self::Error> {
        if url.as_str().len() > MAX_LINK_LEN {
            return Err(DeepLinkError::TooLong {
                len: url.as_str().len(),
            });
        }
        if url.scheme() != SCHEME {
            return Err(DeepLinkError::WrongScheme);
        }
        if !url.username().is_empty() || url.password().is_some() || url.port().is_some() {
            return Err(DeepLinkError::HasCredentials);
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let path = url.path();
        match (host.as_str(), path) {
            ("callback", "" | "/") => parse_callback(url).map(DeepLink::AuthCallback),
            ("connections", path) => {
                let id = path.strip_prefix('/').unwrap_or_default();
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(DeepLinkError::UnknownTarget(SafeText::from_untrusted(
                        "connections with parameters",
                    )));
                }
                parse_connection_id(id)
                    .map(|connection_id| DeepLink::OpenConnection { connection_id })
            }
            _ => Err(DeepLinkError::UnknownTarget(SafeText::from_untrusted(
                &format!("{host}{path}"),
            ))),
        }
    }
}

fn parse_connection_id(raw: &str) -> Result<String, DeepLinkError> {
    let id = percent_decode(raw).ok_or(DeepLinkError::BadConnectionId)?;
    let valid = !id.is_empty()
        && id.len() <= MAX_CONNECTION_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_'));
    if valid {
        Ok(id)
    } else {
        Err(DeepLinkError::BadConnectionId)
    }
}

fn percent_decode(raw: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={raw}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
}

#[derive(Default)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    id_token: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn parse_callback(url: &Url) -> Result<AuthCallback, DeepLinkError> {
    let query = url.query().filter(|q| !q.is_empty());
    let fragment = url.fragment().filter(|f| !f.is_empty());
    let (raw, location) = match (query, fragment) {
        (Some(_), Some(_)) => return Err(DeepLinkError::AmbiguousLocation),
        (Some(q), None) => (q, ResponseLocation::Query),
        (None, Some(f)) => (f, ResponseLocation::Fragment),
        (None, None) => return Err(DeepLinkError::MissingState),
    };

    let mut params = CallbackParams::default();
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let (slot, name): (&mut Option<String>, &'static str) = match name.as_ref() {
            "code" => (&mut params.code, "code"),
            "state" => (&mut params.state, "state"),
            "id_token" => (&mut params.id_token, "id_token"),
            "iss" => (&mut params.iss, "iss"),
            "error" => (&mut params.error, "error"),
            "error_description" => (&mut params.error_description, "error_description"),
            // Servers may add parameters (session_state, scope); they carry nothing we act on.
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(DeepLinkError::DuplicateParameter(name));
        }
    }

    let state = params.state.ok_or(DeepLinkError::MissingState)?;
    require(&state, "state", MAX_STATE_LEN, is_visible_ascii)?;
    if let Some(iss) = &params.iss {
        require(iss, "iss", MAX_STATE_LEN, is_visible_ascii)?;
    }

    let outcome = match (params.code, params.error) {
        (Some(_), Some(_)) => return Err(DeepLinkError::ConflictingOutcome),
        (None, None) => return Err(DeepLinkError::MissingOutcome),
        (Some(code), None) => {
            require(&code, "code", MAX_STATE_LEN * 4, is_visible_ascii)?;
            if let Some(token) = &params.id_token {
                require(token, "id_token", MAX_LINK_LEN, is_visible_ascii)?;
            }
            AuthOutcome::Granted {
                code: Sensitive::new(code),
                id_token: params.id_token.map(Sensitive::new),
            }
        }
        (None, Some(error)) => {
            // RFC 6749 §4.1.2.1 limits both to printable ASCII without `"` and `\`.
            require(&error, "error", 128, is_oauth_error_char)?;
            if let Some(description) = &params.error_description {
                require(
                    description,
                    "error_description",
                    MAX_ERROR_DESCRIPTION_LEN,
                    is_oauth_error_char,
                )?;
            }
            AuthOutcome::Refused {
                error,
                description: params.error_description,
            }
        }
    };

    Ok(AuthCallback {
        state,
        issuer: params.iss,
        outcome,
        location,
    })
}

fn require(
    value: &str,
    name: &'static str,
    max_len: usize,
    allowed: fn(char) -> bool,
) -> Result<(), DeepLinkError> {
    if value.is_empty() || value.len() > max_len || !value.chars().all(allowed) {
        return Err(DeepLinkError::BadParameter(name));
    }
    Ok(())
}

fn is_visible_ascii(c: char) -> bool {
    c.is_ascii_graphic()
}

fn is_oauth_error_char(c: char) -> bool {
    matches!(c, ' '..='~') && c != '"' && c != '\\'
}

/// What the UI is told about a link: its kind and a redacted rendering, never the link itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DeepLinkSummary {
    pub kind: DeepLinkKind,
    pub redacted: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum DeepLinkKind {
    AuthCallback,
    OpenConnection,
}

impl AuthCallback {
    /// The same answer as the Moneyhub client takes it: this parser is the only one, the
    /// client's checks (state, issuer, response location) then run on its result.
    pub fn to_client(&self) -> moneyhub::Callback {
        let mut callback = moneyhub::Callback {
            state: Some(self.state.clone()),
            iss: self.issuer.clone(),
            in_fragment: self.location == ResponseLocation::Fragment,
            ..moneyhub::Callback::default()
        };
        match &self.outcome {
            AuthOutcome::Granted { code, id_token } => {
                callback.code = Some(moneyhub::Secret::new(code.expose().clone()));
                callback.id_token = id_token
                    .as_ref()
                    .map(|token| moneyhub::Secret::new(token.expose().clone()));
            }
            AuthOutcome::Refused { error, description } => {
                callback.error = Some(error.clone());
                callback.error_description = description.clone();
            }
        }
        callback
    }
}

impl DeepLink {
    /// The link with every credential replaced and the state shortened, safe to log and show.
    pub fn redacted(&self) -> String {
        match self {
            DeepLink::OpenConnection { connection_id } => {
                format!("{SCHEME}://connections/{connection_id}")
            }
            DeepLink::AuthCallback(callback) => {
                let mut parts = Vec::new();
                match &callback.outcome {
                    AuthOutcome::Granted { id_token, .. } => {
                        parts.push("code=[redacted]".to_string());
                        if id_token.is_some() {
                            parts.push("id_token=[redacted]".to_string());
                        }
                    }
                    // Anyone can send a link with any words in it ("Your account is locked, call
                    // 0800 …"): before it is matched to a request of ours, only a code OAuth
                    // defines is repeated, and the description never is.
                    AuthOutcome::Refused { error, description } => {
                        let known = KNOWN_OAUTH_ERRORS.contains(&error.as_str());
                        parts.push(format!(
                            "error={}",
                            if known { error.as_str() } else { "[other]" }
                        ));
                        if description.is_some() {
                            parts.push("error_description=[withheld]".to_string());
                        }
                    }
                }
                parts.push(format!("state={}", shorten(&callback.state)));
                if let Some(iss) = &callback.issuer {
                    parts.push(format!("iss={iss}"));
                }
                let separator = match callback.location {
                    ResponseLocation::Query => '?',
                    ResponseLocation::Fragment => '#',
                };
                format!("{SCHEME}://callback{separator}{}", parts.join("&"))
            }
        }
    }

    pub fn summary(&self) -> DeepLinkSummary {
        DeepLinkSummary {
            kind: match self {
                DeepLink::AuthCallback(_) => DeepLinkKind::AuthCallback,
                DeepLink::OpenConnection { .. } => DeepLinkKind::OpenConnection,
            },
            redacted: self.redacted(),
        }
    }
}

/// The error codes of RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6 and RFC 9101/9126.
const KNOWN_OAUTH_ERRORS: &[&str] = &[
    "access_denied",
    "invalid_request",
    "unauthorized_client",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
];

/// Enough of a state value to match it by eye against a pending authorization, not to replay it.
fn shorten(state: &str) -> String {
    let head: String = state.chars().take(4).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests;

/// What the app has seen of deep links since it started: the last accepted one (redacted), the
/// last rejection reason, and counts, for the diagnostics panel and for the UI to catch up on
/// links that arrived before it was listening (a cold start by link).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LinkActivity {
    pub last_received: Option<DeepLinkSummary>,
    pub last_rejection: Option<String>,
    pub received: u32,
    pub rejected: u32,
}

impl LinkActivity {
    /// Parses `raw` and records the outcome.
    pub fn record(&mut self, raw: &str) -> Result<DeepLink, DeepLinkError> {
        match raw.parse::<DeepLink>() {
            Ok(link) => {
                self.received = self.received.saturating_add(1);
                self.last_received = Some(link.summary());
                Ok(link)
            }
            Err(err) => {
                self.rejected = self.rejected.saturating_add(1);
                self.last_rejection = Some(err.to_string());
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod activity_tests {
    use super::*;

    #[test]
    fn activity_counts_and_keeps_only_redacted_forms() {
        let mut activity = LinkActivity::default();
        activity
            .record("banklinks://callback?code=SECRET&state=statevalue")
            .expect("valid");
        activity
            .record("banklinks://nowhere?code=SECRET")
            .expect_err("invalid");
        assert_eq!(activity.received, 1);
        assert_eq!(activity.rejected, 1);
        assert_eq!(
            activity.last_received.as_ref().map(|s| s.redacted.as_str()),
            Some("banklinks://callback?code=[redacted]&state=stat…")
        );
        assert_eq!(
            activity.last_rejection.as_deref(),
            Some("the link names no known destination (\"nowhere\")")
        );
        assert!(!format!("{activity:?}").contains("SECRET"));
    }
}
