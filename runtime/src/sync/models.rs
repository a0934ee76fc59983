//! Loom models of the scope tree's protocols, which loom cannot check in
//! place: a scope spawns on tokio's runtime and counts its tasks in
//! tokio-util's `TaskTracker`, whose atomics loom does not see. Each model
//! is the production code's steps, line for line, over loom's locks and
//! atomics with the orderings the real ones use (`TaskTracker`: a task is
//! added `Relaxed`, dropped `Release`, `is_empty` reads `Acquire`;
//! `OnceLock::set` releases, `get` acquires). What each mirrors is named
//! on it; a change there is a change here.
//!
//! - `loom_a_child_of_a_cancelled_scope_is_cancelled`: `Scope::cancel`
//!   against `Scope::child` (the second invariant of `scope.rs`).
//! - `loom_all_ended_sees_a_task_spawned_by_an_ending_task`:
//!   `Scope::all_ended` and `Scope::busy` against `Scope::spawn` and
//!   `Process::count_spawn` from a task that ends at once.
//! - `loom_a_hook_deferred_while_a_scope_drains_runs`: `drain::stop` and
//!   `drain::run_hooks` against `Scope::child` and `Scope::defer`.

use std::sync::Arc;

use loom::sync::Mutex;
use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use loom::thread;

use super::model;

/// What a scope holds, for these models. Shared in a std `Arc`, as
/// scopes are (their count is not part of these protocols, and loom's
/// cannot be a method's receiver).
#[derive(Default)]
struct Scope {
    inner: Mutex<Inner>,
    /// `Scope::cancelled_at`, a `OnceLock` set under `inner`.
    cancelled: AtomicBool,
    /// `Scope::tracker`: twice the tasks (the closed bit is left out).
    tracker: AtomicUsize,
    /// `Scope::drained`.
    drained: AtomicBool,
    /// How many of this scope's hooks ran.
    ran: AtomicUsize,
}

#[derive(Default)]
struct Inner {
    children: Vec<Arc<Scope>>,
    drained_children: usize,
    /// Hooks not run yet.
    hooks: usize,
    hooks_done: bool,
}

fn lock(m: &Mutex<Inner>) -> loom::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap()
}

impl Scope {
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// `Scope::cancel`.
    fn cancel(&self) {
        let children = {
            let inner = lock(&self.inner);
            if self.cancelled.swap(true, Ordering::AcqRel) {
                return;
            }
            inner.children.clone()
        };
        for child in children {
            child.cancel();
        }
    }

    /// `Scope::child`.
    fn child(self: &Arc<Self>) -> Arc<Scope> {
        let child = Arc::new(Scope::default());
        let mut inner = lock(&self.inner);
        if self.is_cancelled() {
            child.cancel();
        }
        if inner.hooks_done {
            lock(&child.inner).hooks_done = true;
        }
        inner.children.push(child.clone());
        child
    }

    /// `Scope::defer`: a hook runs with the drain, or at once if the
    /// scope's hooks have run.
    fn defer(&self) {
        let mut inner = lock(&self.inner);
        if inner.hooks_done {
            drop(inner);
            self.ran.fetch_add(1, Ordering::Relaxed);
            return;
        }
        inner.hooks += 1;
    }

    /// `TaskTracker::track_future`, as `Scope::spawn` calls it.
    fn track(&self) {
        self.tracker.fetch_add(2, Ordering::Relaxed);
    }

    /// A tracked task's end (`TaskTracker`'s `drop_task`).
    fn untrack(&self) {
        self.tracker.fetch_sub(2, Ordering::Release);
    }

    /// `Scope::busy`: this scope first, then its children.
    fn busy(self: &Arc<Self>) -> bool {
        self.tracker.load(Ordering::Acquire) > 1
            || lock(&self.inner).children.iter().any(Scope::busy)
    }

    /// `Scope::drain`, once (`drained`), without tasks: `stop`'s loop over
    /// the children created meanwhile, then `run_hooks`.
    fn drain(self: &Arc<Self>) {
        if self.drained.swap(true, Ordering::AcqRel) {
            return;
        }
        // `drain::stop`.
        let mut cancelled = false;
        loop {
            let children: Vec<_> = {
                let mut inner = lock(&self.inner);
                let from = inner.drained_children;
                inner.drained_children = inner.children.len();
                inner.children[from..].to_vec()
            };
            let new_children = !children.is_empty();
            for child in children {
                child.drain();
            }
            if !cancelled {
                cancelled = true;
                self.cancel();
            } else if !new_children {
                break;
            }
            // `all_ended`: no task in these models.
        }
        // `drain::run_hooks`: the hooks, then the children created since
        // `stop` last took them.
        loop {
            let next = {
                let mut inner = lock(&self.inner);
                let next = inner.hooks.checked_sub(1);
                if let Some(left) = next {
                    inner.hooks = left;
                }
                inner.hooks_done = next.is_none();
                next.ok_or_else(|| {
                    let from = inner.drained_children;
                    inner.drained_children = inner.children.len();
                    inner.children[from..].to_vec()
                })
            };
            match next {
                Ok(_) => {
                    self.ran.fetch_add(1, Ordering::Relaxed);
                }
                Err(late) => {
                    for child in late {
                        child.drain();
                    }
                    return;
                }
            }
        }
    }
}

/// A child created while its parent is cancelled is cancelled, whichever
/// comes first, and so is its own child: `cancelled_at` is set, and a
/// child added, under the parent's lock.
#[test]
fn loom_a_child_of_a_cancelled_scope_is_cancelled() {
    model(|| {
        let root = Arc::new(Scope::default());
        let cancel = {
            let root = root.clone();
            thread::spawn(move || root.cancel())
        };
        let child = root.child();
        let grandchild = child.child();
        cancel.join().unwrap();
        assert!(child.is_cancelled(), "a child left running uncancelled");
        assert!(
            grandchild.is_cancelled(),
            "a grandchild left running uncancelled"
        );
    });
}

/// `all_ended` does not return while a task runs that a task of the
/// subtree spawned before it ended. Here task `s`, in child scope `c`,
/// spawns `t` into the root, which `busy` has looked at already, and ends:
/// `busy` then finds no task, and only the count of spawns, read before
/// and after (`SeqCst`), shows that it must look again. The model fails
/// without the second read, with the count `Relaxed`, with the count
/// bumped before the task is tracked, and with the tracker's `Release` or
/// `Acquire` weakened; it passes with the count `Release`/`Acquire`, which
/// is all that `SeqCst` is used for here.
#[test]
fn loom_all_ended_sees_a_task_spawned_by_an_ending_task() {
    model(|| {
        let root = Arc::new(Scope::default());
        let c = root.child();
        // `Process::spawns`.
        let spawns = Arc::new(AtomicU64::new(0));
        // `s` runs in `c` from the start.
        c.track();
        let t_ended = Arc::new(AtomicBool::new(false));
        let s = {
            let (root, c, spawns, t_ended) =
                (root.clone(), c.clone(), spawns.clone(), t_ended.clone());
            thread::spawn(move || {
                // `Scope::spawn`: tracked, then counted.
                root.track();
                spawns.fetch_add(1, Ordering::SeqCst);
                let t = {
                    let root = root.clone();
                    thread::spawn(move || {
                        t_ended.store(true, Ordering::Relaxed);
                        root.untrack();
                    })
                };
                c.untrack();
                t
            })
        };
        // `Scope::all_ended`, its wait on a busy scope's tracker a yield.
        loop {
            let before = spawns.load(Ordering::SeqCst);
            if root.busy() {
                thread::yield_now();
                continue;
            }
            if spawns.load(Ordering::SeqCst) != before {
                continue;
            }
            break;
        }
        assert!(
            t_ended.load(Ordering::Relaxed),
            "all_ended returned while `t` ran"
        );
        s.join().unwrap().join().unwrap();
    });
}

/// A hook deferred on a child scope created while its parent drains runs:
/// with the child's drain, or at once because the parent's hooks ran.
///
/// Before stop 23 it did not: a child created after `stop` took the
/// parent's children for the last time, and before `run_hooks` set
/// `hooks_done` (while the parent's hooks ran, say), was never drained (the
/// parent drains once) and was not born `hooks_done` either, so its hooks
/// waited for a drain that never came. Reachable when code outside the
/// scope's subtree holds its context: an acceptor in the root making a
/// scope per connection in a scope that `Context::drain` is draining.
/// `run_hooks` now drains the children created since `stop`, under the
/// lock that marks the hooks done.
#[test]
fn loom_a_hook_deferred_while_a_scope_drains_runs() {
    model(|| {
        let scope = Arc::new(Scope::default());
        let drain = {
            let scope = scope.clone();
            thread::spawn(move || scope.drain())
        };
        let child = scope.child();
        child.defer();
        drain.join().unwrap();
        assert_eq!(
            child.ran.load(Ordering::Relaxed),
            1,
            "a hook that never runs"
        );
    });
}
