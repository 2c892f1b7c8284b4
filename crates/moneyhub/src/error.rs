//! Everything that can go wrong talking to Moneyhub, as one enum the caller can match on.

use std::time::Duration;

/// An error from the Moneyhub client. New variants may be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request did not get an answer: the connection failed or timed out.
    #[error("could not reach Moneyhub ({kind:?}): {message}")]
    Transport {
        kind: TransportKind,
        message: String,
    },
    /// Moneyhub answered with an error status. `code`, `message` and `correlation_id` come from
    /// its `{code, message, correlationId}` body when it has one; `body` keeps it raw.
    #[error("Moneyhub answered {status}{}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Http {
        status: u16,
        code: Option<String>,
        message: Option<String>,
        correlation_id: Option<String>,
        body: String,
    },
    /// 429: too many requests; `retry_after` is when Moneyhub says to try again.
    #[error("rate limited by Moneyhub{}", retry_after.map(|d| format!("; retry in {} s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        retry_after: Option<Duration>,
        body: String,
    },
    /// 403 on a data call because the connection's consent has expired.
    #[error("the connection's consent has expired: {message}")]
    ConsentExpired { message: String },
    /// A body could not be read as the expected type.
    #[error("could not read {what} from Moneyhub's answer: {reason} (body starts {excerpt:?})")]
    Decode {
        what: &'static str,
        reason: String,
        excerpt: String,
    },
    /// An OAuth error: from the authorization callback (`access_denied`, `invalid_scope`, …) or
    /// the token and PAR endpoints.
    #[error("Moneyhub refused the authorization: {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    OAuth {
        error: String,
        description: Option<String>,
    },
    /// The id_token failed a check; `reason` says which.
    #[error("the id_token was rejected: {reason}")]
    IdTokenRejected { reason: String },
    /// The callback's state matches no pending authorization (or it was already used).
    #[error("the callback does not belong to a pending authorization")]
    UnknownState,
    /// The callback URL is not a valid authorization response.
    #[error("the callback is malformed: {0}")]
    MalformedCallback(String),
    /// The client is configured in a way that cannot work (e.g. an unreadable private key).
    #[error("configuration error: {0}")]
    Config(String),
    /// Discovery or the key set could not be fetched or read.
    #[error("could not read Moneyhub's configuration: {0}")]
    Discovery(String),
    /// An id that cannot be one segment of a URL path (empty, or only dots). Refused before
    /// any request is made.
    #[error("not a usable id: {0:?}")]
    InvalidId(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Timeout,
    Connect,
    Other,
}

impl Error {
    pub(crate) fn from_reqwest(err: reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            TransportKind::Timeout
        } else if err.is_connect() {
            TransportKind::Connect
        } else {
            TransportKind::Other
        };
        // reqwest's message can include the URL; ours never carries query strings with codes.
        Error::Transport {
            kind,
            message: err.without_url().to_string(),
        }
    }

    /// Whether retrying the same idempotent request may help.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => {
                matches!(kind, TransportKind::Timeout | TransportKind::Connect)
            }
            Error::RateLimited { .. } => true,
            Error::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

pub(crate) fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

/// What can be said of a Data API body that could not be read without repeating any of it (it
/// holds a person's balances and transactions, and errors reach logs): its size and how it
/// starts, `{`/`[` for JSON, `<` for a page a proxy put in its place.
pub(crate) fn withheld(body: &[u8]) -> String {
    let starts = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .map_or("nothing", |b| match b {
            b'{' | b'[' => "JSON",
            b'<' => "markup",
            _ => "other text",
        });
    format!("[{} bytes withheld; {starts}]", body.len())
}
