//! Authorization flows: add a connection, reauth, reconsent and refresh. [`Moneyhub::begin`]
//! builds the request (Moneyhub's scopes and `claims`, `prompt=consent`, a request object, PKCE
//! S256, random `state` and `nonce`), pushes it (PAR) or sends it by value, and returns the URL to
//! open with a [`PendingAuthorization`] to keep. [`Moneyhub::complete`] takes the callback URL,
//! checks it against the pending authorization, exchanges the code and verifies the id_token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{AdditionalClaims, ClientId, IdToken, IdTokenVerifier, IssuerUrl, Nonce};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::client::{Moneyhub, oauth_error};
use crate::config::{RequestObjectSigning, ResponseType};
use crate::error::Error;
use crate::jwt;
use crate::secret::Secret;

/// Which bank a new connection is for: one bank, or Moneyhub's chooser for a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "id")]
pub enum BankChoice {
    Bank(String),
    All,
    Api,
    Legacy,
    Test,
}

impl BankChoice {
    fn scope(&self) -> String {
        match self {
            BankChoice::Bank(id) => format!("id:{id}"),
            BankChoice::All => "id:all".into(),
            BankChoice::Api => "id:api".into(),
            BankChoice::Legacy => "id:legacy".into(),
            BankChoice::Test => "id:test".into(),
        }
    }
}

/// What an authorization is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "flow")]
pub enum Purpose {
    /// A new connection for an existing (API-created) user.
    AddConnection { user_id: String, bank: BankChoice },
    /// Take the user to the bank again; the connection id may change.
    Reauth {
        user_id: String,
        connection_id: String,
    },
    /// Renew the 90-day consent without the bank (only when `tppConsent`).
    Reconsent {
        user_id: String,
        connection_id: String,
        expires_at: Option<DateTime<Utc>>,
    },
    /// Legacy connections: the user answers the bank's security step.
    Refresh {
        user_id: String,
        connection_id: String,
    },
}

impl Purpose {
    pub fn user_id(&self) -> &str {
        match self {
            Purpose::AddConnection { user_id, .. }
            | Purpose::Reauth { user_id, .. }
            | Purpose::Reconsent { user_id, .. }
            | Purpose::Refresh { user_id, .. } => user_id,
        }
    }

    pub fn connection_id(&self) -> Option<&str> {
        match self {
            Purpose::AddConnection { .. } => None,
            Purpose::Reauth { connection_id, .. }
            | Purpose::Reconsent { connection_id, .. }
            | Purpose::Refresh { connection_id, .. } => Some(connection_id),
        }
    }

    fn scope(&self, offline_access: bool) -> String {
        match self {
            // The order Moneyhub's own client uses.
            Purpose::AddConnection { bank, .. } if offline_access => {
                format!("{} openid offline_access", bank.scope())
            }
            Purpose::AddConnection { bank, .. } => format!("{} openid", bank.scope()),
            Purpose::Reauth { .. } => "openid reauth".into(),
            Purpose::Reconsent { .. } => "openid reconsent".into(),
            Purpose::Refresh { .. } => "openid refresh".into(),
        }
    }

    fn claims(&self) -> Value {
        let mut id_token = json!({ "sub": { "essential": true, "value": self.user_id() }, "mh:con_id": { "essential": true } });
        if let Some(connection) = self.connection_id() {
            id_token["mh:con_id"]["value"] = json!(connection);
        }
        if let Purpose::Reconsent { expires_at, .. } = self {
            let value = match expires_at {
                Some(at) => {
                    json!({ "expirationDateTime": at.to_rfc3339_opts(SecondsFormat::Millis, true) })
                }
                None => json!({}),
            };
            id_token["mh:consent"] = json!({ "value": value });
        }
        json!({ "id_token": id_token })
    }
}

/// What to keep between opening the bank journey and the callback. Holds no secret, so it can be
/// stored anywhere; its [`PendingSecrets`] go to the keychain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingAuthorization {
    pub state: String,
    pub purpose: Purpose,
    pub response_type: ResponseType,
    pub redirect_uri: String,
    pub created_at: DateTime<Utc>,
}

/// The PKCE verifier and nonce of a pending authorization.
#[derive(Debug, Clone)]
pub struct PendingSecrets {
    pub code_verifier: Secret,
    pub nonce: Secret,
}

#[derive(Debug)]
pub struct BegunAuthorization {
    /// Open this in the system browser.
    pub url: Url,
    pub pending: PendingAuthorization,
    pub secrets: PendingSecrets,
}

/// A completed authorization.
#[derive(Debug, Clone)]
pub struct Completed {
    pub user_id: String,
    /// From the id_token's `mh:con_id`.
    pub connection_id: String,
    /// For a reauth whose connection id changed: the old id.
    pub previous_connection_id: Option<String>,
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MoneyhubClaims {
    #[serde(rename = "mh:con_id", default, skip_serializing_if = "Option::is_none")]
    pub con_id: Option<String>,
}
impl AdditionalClaims for MoneyhubClaims {}

type MoneyhubIdToken = IdToken<
    MoneyhubClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The parameters of an authorization response.
#[derive(Debug, Clone, Default)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<Secret>,
    pub id_token: Option<Secret>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub iss: Option<String>,
    pub in_fragment: bool,
}

impl Callback {
    /// Reads a redirect URL (query or fragment; form_post cannot reach a deep link).
    pub fn parse(url: &str) -> Result<Self, Error> {
        let url = Url::parse(url).map_err(|_| Error::MalformedCallback("not a URL".into()))?;
        let (raw, in_fragment) = match (
            url.query().filter(|q| !q.is_empty()),
            url.fragment().filter(|f| !f.is_empty()),
        ) {
            (Some(_), Some(_)) => {
                return Err(Error::MalformedCallback(
                    "parameters in both the query and the fragment".into(),
                ));
            }
            (Some(query), None) => (query.to_string(), false),
            (None, Some(fragment)) => (fragment.to_string(), true),
            (None, None) => return Err(Error::MalformedCallback("no parameters".into())),
        };
        let mut callback = Callback {
            in_fragment,
            ..Callback::default()
        };
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()).into_owned() {
            let slot_taken = match name.as_str() {
                "state" => callback.state.replace(value).is_some(),
                "code" => callback.code.replace(Secret::new(value)).is_some(),
                "id_token" => callback.id_token.replace(Secret::new(value)).is_some(),
                "error" => callback.error.replace(value).is_some(),
                "error_description" => callback.error_description.replace(value).is_some(),
                "iss" => callback.iss.replace(value).is_some(),
                _ => false,
            };
            if slot_taken {
                return Err(Error::MalformedCallback(format!(
                    "{name} appears more than once"
                )));
            }
        }
        Ok(callback)
    }
}

/// Constant-time string comparison, for `state`.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The pending authorization a callback answers, compared in constant time.
pub fn find_pending<'a>(
    pending: &'a [PendingAuthorization],
    callback: &Callback,
) -> Option<&'a PendingAuthorization> {
    let state = callback.state.as_deref()?;
    let mut found = None;
    for candidate in pending {
        if same(&candidate.state, state) {
            found = Some(candidate);
        }
    }
    found
}

impl Moneyhub {
    /// Starts an authorization; see the module docs.
    pub async fn begin(&self, purpose: Purpose) -> Result<BegunAuthorization, Error> {
        let metadata = self.metadata().await?;
        let state = self.random_token(32);
        let nonce = self.random_token(32);
        let verifier = self.random_token(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let now = self.now();
        let issuer = self.config.issuer();
        let claims = json!({
            "client_id": self.config.client_id,
            "scope": purpose.scope(self.config.offline_access),
            "state": state,
            "nonce": nonce,
            "claims": purpose.claims(),
            "redirect_uri": self.config.redirect_uri,
            "response_type": self.config.response_type.as_str(),
            "prompt": "consent",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "iss": self.config.client_id,
            "aud": issuer,
            "jti": self.random_token(24),
            "iat": now.timestamp(),
            "exp": (now + Duration::minutes(5)).timestamp(),
        });
        // Without a request object, the same parameters go as plain fields.
        let request = match (self.config.request_object_signing, &self.config.auth) {
            (RequestObjectSigning::None, _) => {
                vec![("request".to_string(), jwt::unsigned(&claims))]
            }
            (RequestObjectSigning::Rs256, crate::config::ClientAuth::PrivateKeyJwt { key }) => {
                vec![(
                    "request".to_string(),
                    key.sign(&claims, Some("oauth-authz-req+jwt"))?,
                )]
            }
            (RequestObjectSigning::Rs256, _) => {
                return Err(Error::Config(
                    "RS256 request objects need a private key".into(),
                ));
            }
            (RequestObjectSigning::Plain, _) => plain_parameters(&claims),
        };
        let authorize = metadata.authorization_endpoint().url().clone();
        let pushed_endpoint = metadata
            .additional_metadata()
            .pushed_authorization_request_endpoint
            .clone();
        let url = match pushed_endpoint.filter(|_| self.config.use_par) {
            Some(endpoint) => {
                let mut form = request;
                if !form.iter().any(|(name, _)| name == "client_id") {
                    form.push(("client_id".to_string(), self.config.client_id.clone()));
                }
                let request = self.authenticate(self.http.post(&endpoint), &mut form, &issuer)?;
                let response = self.send_raw(request.form(&form)).await?;
                let status = response.status();
                let body = response.bytes().await.map_err(Error::from_reqwest)?;
                // RFC 9126: exactly 201 with request_uri and expires_in.
                if status.as_u16() != 201 {
                    return Err(oauth_error(status.as_u16(), &body));
                }
                let pushed: Value = serde_json::from_slice(&body).map_err(|err| Error::Decode {
                    what: "PAR response",
                    reason: err.to_string(),
                    excerpt: crate::error::excerpt(&body),
                })?;
                let request_uri = pushed
                    .get("request_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::Decode {
                        what: "request_uri",
                        reason: "missing".into(),
                        excerpt: String::new(),
                    })?;
                // RFC 9126 §4 (and RFC 9101 §5.2): client_id goes beside request_uri; a
                // standard provider refuses the URL without it.
                let mut url = authorize;
                url.query_pairs_mut()
                    .append_pair("client_id", &self.config.client_id)
                    .append_pair("request_uri", request_uri);
                url
            }
            None => {
                let mut url = authorize;
                {
                    let mut query = url.query_pairs_mut();
                    if request.iter().any(|(name, _)| name == "request") {
                        // OpenID Connect wants these outside the request object too.
                        query
                            .append_pair("client_id", &self.config.client_id)
                            .append_pair("response_type", self.config.response_type.as_str())
                            .append_pair("scope", &purpose.scope(self.config.offline_access))
                            .append_pair("redirect_uri", &self.config.redirect_uri);
                    }
                    query.extend_pairs(request.iter());
                }
                url
            }
        };
        Ok(BegunAuthorization {
            url,
            pending: PendingAuthorization {
                state,
                purpose,
                response_type: self.config.response_type,
                redirect_uri: self.config.redirect_uri.clone(),
                created_at: now,
            },
            secrets: PendingSecrets {
                code_verifier: Secret::new(verifier),
                nonce: Secret::new(nonce),
            },
        })
    }

    /// Completes an authorization from its callback. The caller looks the pending authorization
    /// up with [`find_pending`] and must not use it again afterwards, whatever the outcome.
    pub async fn complete(
        &self,
        pending: &PendingAuthorization,
        secrets: &PendingSecrets,
        callback: &Callback,
    ) -> Result<Completed, Error> {
        if !callback
            .state
            .as_deref()
            .is_some_and(|state| same(state, &pending.state))
        {
            return Err(Error::UnknownState);
        }
        if let Some(error) = &callback.error {
            return Err(Error::OAuth {
                error: error.clone(),
                description: callback.error_description.clone(),
            });
        }
        let issuer = self.config.issuer();
        match &callback.iss {
            Some(iss) if iss != &issuer => {
                return Err(Error::IdTokenRejected {
                    reason: format!("the response's iss is {iss}, expected {issuer}"),
                });
            }
            Some(_) => {}
            // RFC 9207 §2.4: an answer that carries an id_token names its issuer there, and
            // that id_token is verified below (node-oidc-provider sends no iss beside it).
            None if callback.id_token.is_some()
                && pending.response_type == ResponseType::CodeIdToken => {}
            // RFC 9207 §2.4: when the server says it always sends iss, an answer without it
            // may come from another server (a mix-up attack).
            None if self
                .metadata()
                .await?
                .additional_metadata()
                .authorization_response_iss_parameter_supported
                == Some(true) =>
            {
                return Err(Error::MalformedCallback(
                    "the answer has no iss, which this server always sends".into(),
                ));
            }
            None => {}
        }
        if pending.response_type == ResponseType::Code && callback.in_fragment {
            // A code answer belongs in the query; one moved into the fragment was not sent
            // by the server as asked.
            return Err(Error::MalformedCallback(
                "a code answer must come in the query, not the fragment".into(),
            ));
        }
        let code = callback
            .code
            .as_ref()
            .ok_or_else(|| Error::MalformedCallback("no code".into()))?;
        if pending.response_type == ResponseType::CodeIdToken {
            if !callback.in_fragment {
                return Err(Error::MalformedCallback(
                    "code id_token answers must come in the fragment".into(),
                ));
            }
            let front = callback.id_token.as_ref().ok_or_else(|| {
                Error::MalformedCallback("code id_token answer without an id_token".into())
            })?;
            let claims = self.verify_id_token(front.expose(), &secrets.nonce).await?;
            let c_hash = claims
                .get("c_hash")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::IdTokenRejected {
                    reason: "the front-channel id_token has no c_hash".into(),
                })?;
            let expected = left_half_hash(code.expose());
            if !same(c_hash, &expected) {
                return Err(Error::IdTokenRejected {
                    reason: "c_hash does not match the code".into(),
                });
            }
        }
        let user_id = pending.purpose.user_id().to_string();
        let form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.expose().to_string()),
            ("redirect_uri".to_string(), pending.redirect_uri.clone()),
            (
                "code_verifier".to_string(),
                secrets.code_verifier.expose().to_string(),
            ),
            ("sub".to_string(), user_id.clone()),
        ];
        let tokens = self.token_request(form).await?;
        let id_token = tokens
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::IdTokenRejected {
                reason: "the token response has no id_token".into(),
            })?;
        let claims = self.verify_id_token(id_token, &secrets.nonce).await?;
        if claims.get("sub").and_then(Value::as_str) != Some(user_id.as_str()) {
            return Err(Error::IdTokenRejected {
                reason: "the id_token is for another user".into(),
            });
        }
        let connection_id = claims
            .get("mh:con_id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::IdTokenRejected {
                reason: "the id_token has no mh:con_id".into(),
            })?
            .to_string();
        let previous_connection_id = pending
            .purpose
            .connection_id()
            .filter(|old| *old != connection_id)
            .map(str::to_string);
        let access_token = tokens
            .get("access_token")
            .and_then(Value::as_str)
            .map(Secret::new)
            .ok_or_else(|| Error::Decode {
                what: "access_token",
                reason: "missing".into(),
                excerpt: String::new(),
            })?;
        let refresh_token = tokens
            .get("refresh_token")
            .and_then(Value::as_str)
            .map(Secret::new);
        Ok(Completed {
            user_id,
            connection_id,
            previous_connection_id,
            access_token,
            refresh_token,
        })
    }

    /// Verifies an id_token: signature against the JWKS (fetched again once when the key is
    /// unknown, for rotation), RS256/PS256 only, `iss`, `aud`, `exp`/`iat` with the configured
    /// leeway, and `nonce`. Returns its claims.
    pub async fn verify_id_token(&self, token: &str, nonce: &Secret) -> Result<Value, Error> {
        let parsed: MoneyhubIdToken =
            token
                .parse()
                .map_err(|err: serde_json::Error| Error::IdTokenRejected {
                    reason: format!("not a JWT: {err}"),
                })?;
        self.metadata().await?;
        let keys = self
            .jwks
            .read()
            .await
            .clone()
            .unwrap_or_else(|| CoreJsonWebKeySet::new(Vec::new()));
        match self.check_claims(&parsed, keys, nonce) {
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => {
                let keys = self.refresh_jwks().await?;
                self.check_claims(&parsed, keys, nonce)
                    .map_err(|err| Error::IdTokenRejected {
                        reason: err.to_string(),
                    })?;
            }
            Err(err) => {
                return Err(Error::IdTokenRejected {
                    reason: err.to_string(),
                });
            }
            Ok(()) => {}
        }
        // Verified above; read the claims as JSON for the caller.
        let payload = token.split('.').nth(1).unwrap_or_default();
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Error::IdTokenRejected {
                reason: "payload is not base64url".into(),
            })?;
        serde_json::from_slice(&bytes).map_err(|_| Error::IdTokenRejected {
            reason: "payload is not JSON".into(),
        })
    }

    fn check_claims(
        &self,
        token: &MoneyhubIdToken,
        keys: CoreJsonWebKeySet,
        nonce: &Secret,
    ) -> Result<(), openidconnect::ClaimsVerificationError> {
        let issuer = IssuerUrl::new(self.config.issuer())
            .map_err(|err| openidconnect::ClaimsVerificationError::Other(err.to_string()))?;
        let leeway =
            Duration::from_std(self.config.clock_leeway).unwrap_or_else(|_| Duration::seconds(60));
        let now = self.now();
        let verifier: IdTokenVerifier<'_, openidconnect::core::CoreJsonWebKey> =
            IdTokenVerifier::new_public_client(
                ClientId::new(self.config.client_id.clone()),
                issuer,
                keys,
            )
            .set_allowed_algs([
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            ])
            // exp is compared with this time: shifting it back by the leeway accepts a token that
            // expired a moment ago on a slightly fast client clock.
            .set_time_fn(move || now - leeway)
            .set_issue_time_verifier_fn(move |iat| {
                if iat <= now + leeway {
                    Ok(())
                } else {
                    Err("issued in the future".into())
                }
            });
        let expected = Nonce::new(nonce.expose().to_string());
        token.claims(&verifier, &expected).map(|_| ())
    }
}

fn left_half_hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(value.as_bytes())[..16])
}

/// The request object's claims as plain form fields (PAR) or query parameters: strings as they
/// are, `claims` as a JSON string; the JWT-only claims (`iss`, `aud`, `jti`, `iat`, `exp`) left
/// out.
fn plain_parameters(claims: &Value) -> Vec<(String, String)> {
    let jwt_only = ["iss", "aud", "jti", "iat", "exp"];
    claims
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| !jwt_only.contains(&name.as_str()))
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (name.clone(), text)
        })
        .collect()
}
