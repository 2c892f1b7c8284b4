//! An offline, faithful simulator of Moneyhub's identity service and Data API, embedded by the
//! app for the Demo environment and used by every client and app test.
//!
//! It must not depend on the `moneyhub` client crate (a field-name mistake shared by both sides
//! would let every test pass) nor on tauri.

pub mod catalogue;
pub mod clock;
pub mod error;
pub mod keys;
pub mod world;
