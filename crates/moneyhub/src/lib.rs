//! Typed, async client for Moneyhub's identity service (OIDC) and Data API.
//!
//! It will own authorization requests (PAR, request objects, PKCE, the `claims` parameter),
//! callback completion with id_token checks, client-credentials tokens and the REST calls the
//! app needs. It must not depend on tauri or on `moneyhub-sandbox`: tests run it against the
//! sandbox over HTTP so that a field-name mistake cannot be mirrored on both sides.
