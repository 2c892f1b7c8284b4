//! Authorization requests in the three styles Moneyhub accepts (pushed, request object by value,
//! plain parameters), their validation, and the bank journey that answers them.
//!
//! The checked request ([`AuthRequest`]) is carried by the journey, so it lives with the shared
//! state; the work on it is split here by stage: `validation` (parameters and request objects
//! against Moneyhub's rules), `endpoints` (`POST /oidc/request` and `GET /oidc/auth`),
//! `interaction` (the bank journey's pages up to the issued code) and `reply` (how an answer
//! travels back to the client's redirect URI).
//!
//! [`AuthRequest`]: crate::state::AuthRequest

mod endpoints;
mod interaction;
mod reply;
mod validation;

pub use endpoints::{authorize, pushed_authorization_request};
pub use interaction::{interaction_page, interaction_submit};
