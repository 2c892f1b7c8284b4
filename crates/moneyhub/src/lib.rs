//! A typed async client for Moneyhub's identity service and Data API.
//!
//! Flows are described on [`auth`]; REST calls on [`api`].

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
pub use config::{ClientAuth, Config, RequestObjectSigning, ResponseType};
pub use error::{Error, TransportKind};
pub use secret::Secret;
