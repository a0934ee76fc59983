//! What an observer of the lifecycle is told: every task's end, every
//! hook's run, every scope's drain, as they happen. The production runtime
//! installs none; the test runtime (`Runtime::test`) installs one that
//! records the order, so the tests run the same code paths as production.

/// What ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A task ended: it returned, panicked, or was dropped.
    TaskEnded,
    /// A deferred hook ended, with or without a failure.
    HookRan,
    /// A scope's drain ended: its child scopes, its tasks, its hooks.
    ScopeDrained,
}

/// Told of each [`Step`] on the thread where it happened.
pub(crate) trait Observer: Send + Sync {
    /// `name` is the task's or hook's name (for a scope, its path); `scope`
    /// is the path of the scope it ran in.
    fn observe(&self, step: Step, name: &str, scope: &str);
}
