//! How the client is set up: where Moneyhub is, who the client is and how it authenticates.

use std::time::Duration;

use url::Url;

use crate::error::Error;
use crate::jwt::SigningKey;
use crate::secret::Secret;

/// How the client proves who it is at the token and PAR endpoints.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// `client_secret_basic`.
    SecretBasic { secret: Secret },
    /// `private_key_jwt`: a fresh signed assertion (unique `jti`) for every call.
    PrivateKeyJwt { key: SigningKey },
}

/// How the authorization request is carried: an unsigned request object (`None`, Moneyhub's
/// recommended portal setting), one signed RS256 with the client's private key, or no request
/// object at all (`Plain`: the parameters as PAR form fields, or in the query without PAR).
/// `Plain` is what a `client_secret_basic` client uses when the server refuses unsigned request
/// objects, since it has no key to sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RequestObjectSigning {
    None,
    Rs256,
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ResponseType {
    /// `code`: the answer comes in the query.
    Code,
    /// `code id_token`: the answer comes in the fragment with a detached id_token.
    CodeIdToken,
}

impl ResponseType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Code => "code",
            ResponseType::CodeIdToken => "code id_token",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The identity service, e.g. `https://identity.moneyhub.co.uk` (a trailing `/oidc` is
    /// removed: the issuer is this plus `/oidc`).
    pub identity_url: Url,
    /// The Data API, e.g. `https://api.moneyhub.co.uk/v3`.
    pub api_url: Url,
    pub client_id: String,
    pub auth: ClientAuth,
    pub request_object_signing: RequestObjectSigning,
    pub redirect_uri: String,
    pub response_type: ResponseType,
    /// Push authorization requests (PAR); when off, or when the server has no PAR endpoint, the
    /// request object is sent by value.
    pub use_par: bool,
    /// Per request.
    pub timeout: Duration,
    /// Leeway for id_token `exp` and `iat`.
    pub clock_leeway: Duration,
    /// Ask for `offline_access` when adding a connection, to get a refresh token.
    pub offline_access: bool,
}

impl Config {
    /// Moneyhub's production hosts with the given client.
    pub fn moneyhub(
        client_id: impl Into<String>,
        auth: ClientAuth,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self::new(
            Url::parse("https://identity.moneyhub.co.uk").expect("valid URL"),
            Url::parse("https://api.moneyhub.co.uk/v3").expect("valid URL"),
            client_id,
            auth,
            redirect_uri,
        )
    }

    pub fn new(
        identity_url: Url,
        api_url: Url,
        client_id: impl Into<String>,
        auth: ClientAuth,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            identity_url,
            api_url,
            client_id: client_id.into(),
            auth,
            request_object_signing: RequestObjectSigning::None,
            redirect_uri: redirect_uri.into(),
            response_type: ResponseType::Code,
            use_par: true,
            timeout: Duration::from_secs(30),
            clock_leeway: Duration::from_secs(60),
            offline_access: false,
        }
    }

    /// `{identity}/oidc`.
    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.identity_base())
    }

    pub(crate) fn identity_base(&self) -> String {
        let base = self.identity_url.as_str().trim_end_matches('/');
        base.strip_suffix("/oidc").unwrap_or(base).to_string()
    }

    pub(crate) fn api_base(&self) -> String {
        self.api_url.as_str().trim_end_matches('/').to_string()
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        for (what, url) in [("identity", &self.identity_url), ("API", &self.api_url)] {
            if !is_safe_endpoint(url) {
                return Err(Error::Config(format!(
                    "the {what} URL {url} must be https (plain http only on this computer), \
                     without a user name or password"
                )));
            }
        }
        if self.client_id.is_empty() {
            return Err(Error::Config("client id is empty".into()));
        }
        if self.redirect_uri.is_empty() {
            return Err(Error::Config("redirect URI is empty".into()));
        }
        if self.request_object_signing == RequestObjectSigning::Rs256
            && !matches!(self.auth, ClientAuth::PrivateKeyJwt { .. })
        {
            return Err(Error::Config(
                "RS256 request objects need the client's private key (private_key_jwt)".into(),
            ));
        }
        Ok(())
    }
}

/// Whether secrets and tokens may be sent to `url`, or a person sent there: https, or plain
/// http to this computer (the Demo sandbox, a local test server), and no credentials in the
/// URL.
pub fn is_safe_endpoint(url: &Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let secure = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => loopback,
        _ => false,
    };
    secure && url.username().is_empty() && url.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_without_credentials_is_safe() {
        let safe = |text: &str| is_safe_endpoint(&Url::parse(text).expect("url"));
        assert!(safe("https://identity.moneyhub.co.uk/oidc"));
        assert!(safe("http://127.0.0.1:8460/oidc"));
        assert!(safe("http://localhost:8460"));
        assert!(safe("http://[::1]:8460"));
        assert!(!safe("http://identity.example.com/oidc"));
        assert!(!safe("http://127.0.0.1.attacker.example/"));
        assert!(!safe("file:///etc/passwd"));
        assert!(!safe("javascript:alert(1)"));
        assert!(!safe("https://user:pass@identity.example.com"));
    }
}
