//! A typed async client for Moneyhub's identity service and Data API.
//!
//! Everything goes through one [`Moneyhub`] value built from a [`Config`] (where Moneyhub is, the
//! client id, how the client authenticates). Discovery and the signing keys are fetched once and
//! kept; client-credentials tokens are cached per scope and user. Errors are one
//! [`Error`] enum; secrets are [`Secret`]s that never format or serialise.
//!
//! ```no_run
//! # async fn demo() -> Result<(), moneyhub::Error> {
//! use moneyhub::{ClientAuth, Config, Moneyhub};
//! let config = Config::moneyhub("my-client-id", ClientAuth::SecretBasic { secret: "…".into() }, "banklinks://callback");
//! let client = Moneyhub::new(config)?;
//! let user = client.register_user(Some("customer-42")).await?;
//! # Ok(()) }
//! ```
//!
//! # Adding a connection
//!
//! [`Moneyhub::begin`] with [`Purpose::AddConnection`] builds Moneyhub's request — scope
//! `id:<bank> openid` (or `id:all|api|legacy|test` for Moneyhub's chooser), `claims` with the
//! user's `sub`, `prompt=consent`, PKCE S256, random `state` and `nonce` — as a request object
//! (unsigned or RS256), pushes it to the PAR endpoint and returns the URL to open in the browser.
//! Keep the [`PendingAuthorization`] (no secrets: store it anywhere) and its [`PendingSecrets`]
//! (verifier and nonce: keychain). When the redirect comes back, [`Callback::parse`] it, find
//! its pending authorization with [`find_pending`] (constant-time on `state`), and
//! [`Moneyhub::complete`]: the code is exchanged with the verifier and `sub`, the id_token is
//! verified (signature against the key set, refetched once for an unknown key; `iss`, `aud`,
//! `exp`/`iat`, `nonce`, and `c_hash` for `code id_token`) and its `mh:con_id` is the new
//! connection.
//!
//! ```no_run
//! # async fn demo(client: moneyhub::Moneyhub, user_id: String, callback_url: String) -> Result<(), moneyhub::Error> {
//! use moneyhub::{BankChoice, Callback, Purpose, find_pending};
//! let begun = client.begin(Purpose::AddConnection { user_id, bank: BankChoice::Test }).await?;
//! // open begun.url; store begun.pending, put begun.secrets in the keychain …
//! let callback = Callback::parse(&callback_url)?;
//! let pending = [begun.pending];
//! let mine = find_pending(&pending, &callback).ok_or(moneyhub::Error::UnknownState)?;
//! let done = client.complete(mine, &begun.secrets, &callback).await?;
//! println!("connected {}", done.connection_id);
//! # Ok(()) }
//! ```
//!
//! # Reauth, reconsent and refresh
//!
//! The same two steps with [`Purpose::Reauth`] (scope `openid reauth`: back to the bank; the
//! connection id may change, and [`Completed::previous_connection_id`] then names the old one),
//! [`Purpose::Reconsent`] (`openid reconsent`: renews the 90-day consent without the bank, only
//! for connections with `tppConsent`; pass `expires_at` to choose the end, at most 90 days away)
//! and [`Purpose::Refresh`] (`openid refresh`, legacy connections only: the bank's security step).
//!
//! ```no_run
//! # async fn demo(client: moneyhub::Moneyhub) -> Result<(), moneyhub::Error> {
//! use moneyhub::Purpose;
//! let begun = client
//!     .begin(Purpose::Reconsent { user_id: "u".into(), connection_id: "bank:uuid".into(), expires_at: None })
//!     .await?;
//! # let _ = begun; Ok(()) }
//! ```
//!
//! # Reading data and syncing
//!
//! [`Moneyhub::connections`] lists a user's connections with their health fields;
//! [`Moneyhub::accounts`], [`Moneyhub::balances`] and [`Moneyhub::transactions`] (pages of up to
//! 1000, so memory stays bounded) read data; [`Moneyhub::sync`] asks for a fresh sync (rate
//! limited by Moneyhub: a [`Error::RateLimited`] says when to try again). GETs are retried on
//! 429, 5xx and timeouts within bounds, honouring `Retry-After`; POSTs never are.
//!
//! ```no_run
//! # async fn demo(client: moneyhub::Moneyhub) -> Result<(), moneyhub::Error> {
//! use moneyhub::api::TransactionQuery;
//! let mut pages = client.transactions("user-id", TransactionQuery::default());
//! while let Some(page) = pages.next_page().await? {
//!     for transaction in page {
//!         println!("{} {}", transaction.amount.value, transaction.amount.currency);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! `cargo bench -p moneyhub --bench fetch` fetches a user with 20 connections, 60 accounts and
//! ~100,000 transactions from the sandbox and reports time, requests and peak memory.

pub mod api;
pub mod auth;
mod client;
pub mod config;
pub mod error;
pub mod jwt;
pub mod models;
pub mod secret;

pub use auth::{
    BankChoice, BegunAuthorization, Callback, Completed, PendingAuthorization, PendingSecrets,
    Purpose, find_pending,
};
pub use client::{Environment, Moneyhub, SystemEnvironment};
pub use config::{ClientAuth, Config, RequestObjectSigning, ResponseType, is_safe_endpoint};
pub use error::{Error, TransportKind};
pub use secret::Secret;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The app runs these on spawned tasks: they must stay `Send`.
    #[test]
    fn client_futures_are_send() {
        let config = Config::new(
            url::Url::parse("http://127.0.0.1:1").expect("url"),
            url::Url::parse("http://127.0.0.1:1/v3").expect("url"),
            "client",
            ClientAuth::SecretBasic { secret: "s".into() },
            "banklinks://callback",
        );
        let client = Moneyhub::new(config).expect("client");
        let purpose = Purpose::AddConnection {
            user_id: "u".into(),
            bank: BankChoice::Test,
        };
        assert_send(&client.begin(purpose));
        assert_send(&client.connections("u"));
        assert_send(&client.metadata());
        assert_send(&client.sync("u", "c", None));
        let mut pages = client.transactions("u", api::TransactionQuery::default());
        assert_send(&pages.next_page());
    }
}
