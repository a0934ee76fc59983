//! What the task registry synchronises with: the standard library's types,
//! or loom's under `cfg(graceful_loom)` (the model checks, see
//! `live/loom.rs`), so that the code the models check is the code that runs.
//!
//! The levels of slots stay a `std::sync::OnceLock` under loom, which has
//! no twin of it (one written without `unsafe` cannot hand out `&T` from a
//! loom cell). Loom then sees no ordering in it, which only makes the model
//! weaker than the real thing: every read of a level is ordered after that
//! level was set by an edge that loom does see (the registry's lock, or the
//! hand-off of the slot's key from the spawn that filled it to its task),
//! and the level is set under the lock with no loom operation inside
//! `set`, so the model never blocks in it.

#[cfg(all(test, graceful_loom))]
pub(super) use loom::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicU32, Ordering},
};
#[cfg(not(all(test, graceful_loom)))]
pub(super) use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicU32, Ordering},
};

pub(super) use std::sync::OnceLock;

/// Locks `m`, ignoring poisoning, as [`crate::sync::lock`] does.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
