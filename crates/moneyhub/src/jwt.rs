//! JWTs the client signs: request objects and `private_key_jwt` client assertions.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

use crate::error::Error;

/// The client's private key (RS256 or PS256), from PEM or a private JWK.
#[derive(Clone)]
pub struct SigningKey {
    key: EncodingKey,
    algorithm: Algorithm,
    kid: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Rs256,
    Ps256,
}

impl SigningKey {
    /// A PKCS#1 or PKCS#8 RSA private key in PEM.
    pub fn from_pem(
        pem: &str,
        algorithm: KeyAlgorithm,
        kid: Option<String>,
    ) -> Result<Self, Error> {
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|err| {
            Error::Config(format!("the private key is not a usable RSA PEM: {err}"))
        })?;
        Ok(Self {
            key,
            algorithm: algorithm.into(),
            kid,
        })
    }

    /// A private RSA JWK (`kty: RSA` with `n`, `e`, `d`, `p`, `q`); its `kid` and `alg` are used.
    pub fn from_jwk(jwk: &str) -> Result<Self, Error> {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let value: Value = serde_json::from_str(jwk)
            .map_err(|err| Error::Config(format!("the private JWK is not JSON: {err}")))?;
        if value.get("kty").and_then(Value::as_str) != Some("RSA") {
            return Err(Error::Config("the private JWK must be an RSA key".into()));
        }
        let number = |name: &str| -> Result<rsa::BigUint, Error> {
            let text = value
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| Error::Config(format!("the private JWK has no {name}")))?;
            let bytes = URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| Error::Config(format!("the JWK's {name} is not base64url")))?;
            Ok(rsa::BigUint::from_bytes_be(&bytes))
        };
        let key = rsa::RsaPrivateKey::from_components(
            number("n")?,
            number("e")?,
            number("d")?,
            vec![number("p")?, number("q")?],
        )
        .map_err(|err| Error::Config(format!("the private JWK is not a valid RSA key: {err}")))?;
        let der = key
            .to_pkcs1_der()
            .map_err(|err| Error::Config(err.to_string()))?;
        let algorithm = match value.get("alg").and_then(Value::as_str) {
            Some("PS256") => Algorithm::PS256,
            Some("RS256") | None => Algorithm::RS256,
            Some(other) => return Err(Error::Config(format!("unsupported key algorithm {other}"))),
        };
        Ok(Self {
            key: EncodingKey::from_rsa_der(der.as_bytes()),
            algorithm,
            kid: value.get("kid").and_then(Value::as_str).map(str::to_string),
        })
    }

    pub fn sign(&self, claims: &Value, typ: Option<&str>) -> Result<String, Error> {
        let mut header = Header::new(self.algorithm);
        header.kid = self.kid.clone();
        header.typ = typ.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|err| Error::Config(format!("could not sign: {err}")))
    }
}

impl From<KeyAlgorithm> for Algorithm {
    fn from(value: KeyAlgorithm) -> Self {
        match value {
            KeyAlgorithm::Rs256 => Algorithm::RS256,
            KeyAlgorithm::Ps256 => Algorithm::PS256,
        }
    }
}

/// An unsigned request object (`alg: none`): header and claims, then an empty signature.
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"oauth-authz-req+jwt"}"#);
    format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
}
