//! Signing keys and JWTs. The identity service signs with a fixed, public sandbox key (see
//! `keys/README.md`) so runs are reproducible and start instantly.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const IDENTITY_SIGNING_KEY_PEM: &str = include_str!("../keys/identity-signing-key.pem");
/// The key a rotation (admin API) switches to.
pub const NEXT_IDENTITY_SIGNING_KEY_PEM: &str =
    include_str!("../keys/identity-signing-key-next.pem");
/// The demo `private_key_jwt` client's private key: public by design, for Demo mode and tests.
pub const DEMO_CLIENT_PRIVATE_KEY_PEM: &str = include_str!("../keys/demo-client-key.pem");

/// An RSA key pair with its public JWK.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem).map_err(|err| err.to_string())?;
        let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
        // RFC 7638 thumbprint: a stable kid derived from the key itself.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|err| err.to_string())?;
        let decoding = DecodingKey::from_rsa_components(&n, &e).map_err(|err| err.to_string())?;
        let jwk = json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e });
        Ok(Self {
            kid,
            encoding,
            decoding,
            jwk,
        })
    }

    pub fn identity() -> Self {
        Self::from_pem(IDENTITY_SIGNING_KEY_PEM).expect("the embedded identity key is valid")
    }

    pub fn demo_client() -> Self {
        Self::from_pem(DEMO_CLIENT_PRIVATE_KEY_PEM).expect("the embedded demo client key is valid")
    }

    /// The public JWK (no private parts).
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("RS256 signing cannot fail")
    }

    /// Verifies a token this key signed; checks signature and `exp` only.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, String> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|err| err.to_string())
    }
}

/// A JWT's header and claims, read without checking anything. Callers verify what they need.
#[derive(Debug, Clone)]
pub struct UnverifiedJwt {
    pub alg: String,
    pub kid: Option<String>,
    pub claims: Value,
}

pub fn peek(token: &str) -> Result<UnverifiedJwt, String> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWT (three dot-separated parts)".into());
    };
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| "a JWT part is not base64url".to_string())?;
        serde_json::from_slice(&bytes).map_err(|_| "a JWT part is not JSON".to_string())
    };
    let header = decode(header)?;
    let claims = decode(payload)?;
    if !claims.is_object() {
        return Err("the JWT claims are not an object".into());
    }
    Ok(UnverifiedJwt {
        alg: header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        kid: header
            .get("kid")
            .and_then(Value::as_str)
            .map(str::to_string),
        claims,
    })
}

/// Verifies an RS256/PS256 JWT against a client's JWKS (the key named by `kid`, or the only key).
pub fn verify_with_jwks(token: &str, jwks: &Value) -> Result<Value, String> {
    let peeked = peek(token)?;
    let algorithm = match peeked.alg.as_str() {
        "RS256" => Algorithm::RS256,
        "PS256" => Algorithm::PS256,
        other => return Err(format!("unsupported signing algorithm {other:?}")),
    };
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the client has no JWKS")?;
    let key = match &peeked.kid {
        Some(kid) => keys
            .iter()
            .find(|key| key.get("kid").and_then(Value::as_str) == Some(kid)),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
    .ok_or("no key in the client's JWKS matches the token")?;
    let n = key
        .get("n")
        .and_then(Value::as_str)
        .ok_or("JWK without n")?;
    let e = key
        .get("e")
        .and_then(Value::as_str)
        .ok_or("JWK without e")?;
    let decoding = DecodingKey::from_rsa_components(n, e).map_err(|err| err.to_string())?;
    let mut validation = Validation::new(algorithm);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .map(|data| data.claims)
        .map_err(|_| "the signature does not verify".to_string())
}

/// Codes, tokens and handles come from the operating system's generator, never from the world's
/// seeded one: they must not be predictable, and issuing them must not change the world's data.
pub fn secret_token(bytes: usize) -> String {
    use rand::TryRngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng
        .try_fill_bytes(&mut buf)
        .expect("the operating system's random generator failed");
    hex::encode(buf)
}

/// OIDC `c_hash` / `s_hash` / `at_hash`: the left half of the SHA-256 of the value, base64url.
pub fn left_half_hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_signed_by_the_identity_key_verify_against_its_jwk() {
        let key = SigningKey::identity();
        let token = key.sign(&json!({ "sub": "u1", "exp": 4_000_000_000u64 }));
        let claims: Value = key.verify(&token).expect("verifies");
        assert_eq!(claims["sub"], "u1");
        let jwks = json!({ "keys": [key.public_jwk()] });
        assert_eq!(
            verify_with_jwks(&token, &jwks).expect("jwks verify")["sub"],
            "u1"
        );
        assert!(
            key.public_jwk().get("d").is_none(),
            "private part leaked into the JWK"
        );
    }

    #[test]
    fn a_token_from_another_key_does_not_verify() {
        let token = SigningKey::demo_client().sign(&json!({ "sub": "x" }));
        let jwks = json!({ "keys": [SigningKey::identity().public_jwk()] });
        assert!(verify_with_jwks(&token, &jwks).is_err());
    }

    #[test]
    fn peek_reads_unsigned_tokens_and_rejects_garbage() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"scope":"openid"}"#);
        let peeked = peek(&format!("{header}.{payload}.")).expect("parses");
        assert_eq!(peeked.alg, "none");
        assert_eq!(peeked.claims["scope"], "openid");
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.??.x",
            &format!("{header}.bm90anNvbg."),
        ] {
            assert!(peek(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_hash_is_the_left_half_of_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223…; its first 16 bytes, base64url.
        assert_eq!(left_half_hash("abc"), "ungWv48Bz-pBQUDeXa4iIw");
    }
}
