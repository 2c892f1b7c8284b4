//! The one way the core takes a `std::sync::Mutex`.
//!
//! Every mutex here guards plain data that stays consistent between statements (a panic in
//! another thread cannot leave it half-written in a way a reader would misread), so a poisoned
//! lock is taken as it is rather than turning one panic into a dead app.

use std::sync::{Mutex, MutexGuard};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
