//! Locking without poisoning.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning: a panic cannot leave our tables
/// half-updated (every critical section is a single insert, remove or push),
/// and the drain must go on whatever a task did.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs the loom model `f` in every interleaving of its threads, with at
/// most `LOOM_MAX_PREEMPTIONS` preemptions (3 unless the variable says),
/// which keeps each model check to seconds, and prints how many
/// interleavings it ran (seen with `--nocapture`).
#[cfg(all(test, graceful_loom))]
#[allow(
    clippy::print_stderr,
    reason = "a test's own output, captured by libtest"
)]
pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound.get_or_insert(3);
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    builder.check(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        f();
    });
    let bound = builder.preemption_bound.unwrap_or_default();
    let runs = runs.load(Ordering::Relaxed);
    eprintln!("loom: {runs} interleavings, at most {bound} preemptions");
}

#[cfg(all(test, graceful_loom))]
mod models;
