//! An offline, faithful simulator of Moneyhub's identity service and Data API, embedded by the
//! app for the Demo environment and used by every client and app test.
//!
//! Start it with [`RunningSandbox::start`]; it serves the identity service at
//! [`RunningSandbox::identity_url`] (issuer `…/oidc`) and the Data API at
//! [`RunningSandbox::api_url`]. The crate README documents the scripted banks and the
//! `/__sandbox` admin API.
//!
//! It must not depend on the `moneyhub` client crate (a field-name mistake shared by both sides
//! would let every test pass) nor on tauri.

mod admin;
mod bearer;
pub mod catalogue;
pub mod clients;
pub mod clock;
mod data_api;
pub mod error;
mod faults;
mod identity;
pub mod journey;
pub mod keys;
mod persistence;
mod rest;
mod server;
mod state;
#[cfg(feature = "test-support")]
pub mod test_support;
mod webhooks;
mod wire;
pub mod world;

pub use admin::{MAX_WORLD_CONNECTIONS, MAX_WORLD_USERS, PERSONAS, parse_duration};
pub use server::RunningSandbox;
pub use state::{FaultRule, SandboxConfig, Shared};
