//! Banklinks without a window: everything the desktop shell calls lives here, so it can be tested
//! headless. This crate must never depend on tauri; the shell adapts these operations to IPC.
//!
//! What it owns so far: secrets in the OS keychain ([`keychain`]), the keychain self-test the
//! diagnostics panel runs ([`keychain_probe`]), the typed `banklinks://` deep links
//! ([`deep_link`]), injected randomness ([`random`]) and the error codes the UI branches on
//! ([`error`]).

#[cfg(test)]
mod boundary_tests;
pub mod calendar;
pub mod deep_link;
#[cfg(test)]
mod demo_harness;
pub mod environment;
pub mod error;
#[cfg(test)]
mod fault_tests;
pub mod flows;
#[cfg(test)]
#[path = "flows_tests.rs"]
mod flows_tests;
#[cfg(test)]
mod golden_tests;
pub mod health;
pub mod journal;
pub mod keychain;
pub mod keychain_probe;
#[cfg(test)]
mod kill_tests;
mod locks;
pub mod network;
pub mod notices;
pub mod private_folder;
pub mod random;
pub mod renewals;
pub mod sensitive;
pub mod store;
pub mod sync_policy;
pub mod sync_result;
pub mod workspace;
#[cfg(test)]
#[path = "workspace_tests.rs"]
mod workspace_tests;

pub use error::{Error, ErrorCode};
pub use sensitive::Sensitive;
