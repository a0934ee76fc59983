//! Aborting a subtree: an abortable scope keeps its tasks' abort handles
//! (other scopes keep nothing), and its children are abortable too.

use std::sync::Mutex;

use super::Scope;
use crate::sync::lock;

/// An abortable scope's tasks, as they can be aborted.
#[derive(Default)]
pub(super) struct Aborts {
    /// One per task spawned since the scope became abortable; those of
    /// ended tasks are pruned when the list doubled.
    handles: Vec<tokio::task::AbortHandle>,
    pruned_len: usize,
    /// Set by `abort`: a task spawned later is aborted at once.
    aborted: bool,
}

impl Scope {
    /// In an abortable scope, keeps the task to abort with it (or aborts
    /// it at once, if the scope was aborted). Every spawn asks; only an
    /// abortable scope's pays more than a load.
    #[inline]
    pub(super) fn keep_to_abort<T>(&self, join: &tokio::task::JoinHandle<T>) {
        if let Some(aborts) = self.aborts.get() {
            Scope::keep(aborts, join.abort_handle());
        }
    }

    #[cold]
    #[inline(never)]
    fn keep(aborts: &Mutex<Aborts>, handle: tokio::task::AbortHandle) {
        let mut aborts = lock(aborts);
        if aborts.aborted {
            handle.abort();
            return;
        }
        if aborts.handles.len() >= 2 * aborts.pruned_len.max(8) {
            aborts.handles.retain(|h| !h.is_finished());
            aborts.pruned_len = aborts.handles.len();
        }
        aborts.handles.push(handle);
    }

    /// Makes the scope and the children it will have abortable: their
    /// tasks are kept, to abort with [`abort`](Self::abort).
    pub(crate) fn make_abortable(&self) {
        let _ = self.aborts.set(Mutex::default());
    }

    /// Cancels the subtree, then aborts every task of its abortable
    /// scopes, and those spawned there later.
    pub(crate) fn abort(&self) {
        self.cancel();
        if let Some(aborts) = self.aborts.get() {
            let handles = {
                let mut aborts = lock(aborts);
                aborts.aborted = true;
                std::mem::take(&mut aborts.handles)
            };
            for handle in handles {
                handle.abort();
            }
        }
        let children = lock(&self.inner).children.clone();
        for child in children {
            child.abort();
        }
    }

    /// A child of an abortable scope is abortable, and born aborted if
    /// the scope was.
    pub(super) fn pass_abortable_to(&self, child: &Scope) {
        if let Some(aborts) = self.aborts.get() {
            let aborted = lock(aborts).aborted;
            let _ = child.aborts.set(Mutex::new(Aborts {
                aborted,
                ..Aborts::default()
            }));
        }
    }
}
