//! Locking without poisoning.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning: a panic cannot leave our tables
/// half-updated (every critical section is a single insert, remove or push),
/// and the drain must go on whatever a task did.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
