//! Aborting a subtree of scopes at once: [`Context::abortable_scope`] and
//! the [`Abort`] it returns.

use std::sync::Arc;

use super::Context;
use crate::scope::Scope;

/// Aborts the scope that [`Context::abortable_scope`] made, its child
/// scopes and every task in them, at once: each task stops at its next
/// `.await` without running anything more, as `JoinHandle::abort` does,
/// and its handle yields [`TaskError::Aborted`](crate::TaskError::Aborted).
/// Tasks spawned there afterwards are aborted as they start. The scopes'
/// teardown hooks still run when the process drains; blocking work
/// (`spawn_blocking`) cannot be aborted, only its task.
///
/// Cheap to clone; `Send` and `Sync`.
#[derive(Clone)]
pub struct Abort {
    scope: Arc<Scope>,
}

impl Abort {
    /// Cancels the subtree and aborts its tasks. Calling it again does
    /// nothing more.
    pub fn abort(&self) {
        self.scope.abort();
    }
}

impl std::fmt::Debug for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Abort")
            .field("scope", &self.scope.path())
            .finish()
    }
}

impl Context {
    /// A child scope, as [`scope`](Self::scope) makes, that can be aborted
    /// as a whole with the returned [`Abort`]: a job, a session, a tenant
    /// whose work must stop now, even the tasks it started that do not
    /// watch their context (tokio-graceful-shutdown's `abort`). Its tasks
    /// and those of its children are kept for that, which a plain scope
    /// does not pay for.
    ///
    /// ```
    /// use graceful::{Runtime, TaskError};
    ///
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     let (job, abort) = ctx.abortable_scope("job 7");
    ///     // Neither task watches its context: a cancellation would not stop them.
    ///     let fetch = job.spawn("fetch", std::future::pending::<()>());
    ///     job.scope("parse").spawn("parse", std::future::pending::<()>());
    ///     abort.abort();
    ///     assert!(matches!(fetch.await, Err(TaskError::Aborted)));
    ///     job.drain().await; // nothing runs there any more
    ///     ctx.shutdown();
    /// });
    /// assert_eq!(report.exit_code(), 0); // an abort is not a failure
    /// ```
    pub fn abortable_scope(&self, name: &str) -> (Context, Abort) {
        let scope = self.scope.child(name);
        scope.make_abortable();
        let abort = Abort {
            scope: scope.clone(),
        };
        (Context::new(scope), abort)
    }
}
