//! An offline, faithful simulator of Moneyhub's identity service and Data API, embedded by the
//! app for the Demo environment and used by every client and app test.
//!
//! It will own the OIDC endpoints, the bank journey pages, the Data API, scripted banks, fault
//! injection and a time-travel clock. It must not depend on the `moneyhub` client crate (see
//! that crate's docs for why) nor on tauri.
