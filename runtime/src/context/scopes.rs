//! A context's scope, as a place in the tree: its children, its path,
//! its token, and how it drains (the policy of its tasks, its budget,
//! its order among siblings, a partial shutdown).

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Context;
use crate::policy::Policy;

impl Context {
    /// Sets the [`Policy`] of the tasks spawned in this scope without one
    /// (by [`spawn`](Self::spawn) and `#[graceful::task]` functions), and
    /// the default of child scopes created from now on. Returns the
    /// context, to chain after [`scope`](Self::scope).
    ///
    /// ```
    /// use graceful::{Policy, Runtime};
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     let tenants = ctx.scope("tenants").default_policy(Policy::Isolated);
    ///     let _ = tenants.spawn("tenant 7", async { Err::<(), _>("bad config") }).await;
    ///     ctx.shutdown();
    /// });
    /// assert_eq!(report.exit_code(), 0);
    /// assert_eq!(report.isolated_failures, 1);
    /// ```
    pub fn default_policy(self, policy: Policy) -> Context {
        self.scope.set_default_policy(policy);
        self
    }

    /// Gives this scope a drain budget: once its drain began, stopping its
    /// child scopes and tasks may take at most `budget`. Past it, the tasks
    /// still running are reported (named, as at the deadline) and
    /// abandoned, and the scope's hooks run, so that the parent's drain and
    /// hooks still run within the process deadline, which stays the outer
    /// bound. An abandoned task is a critical failure during the process's
    /// shutdown (exit code 1) and an isolated one during a partial
    /// [`drain`](Self::drain).
    ///
    /// ```
    /// use graceful::Runtime;
    /// use graceful::report::FailureKind;
    /// use std::time::Duration;
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     let cache = ctx.scope("cache").drain_budget(Duration::from_millis(50));
    ///     cache.spawn("stuck flush", std::future::pending::<()>());
    ///     ctx.defer("close db", async { println!("still closed") });
    ///     ctx.shutdown();
    /// });
    /// assert_eq!(report.exit_code(), 1);
    /// assert!(matches!(report.failures[0].kind, FailureKind::Abandoned { .. }));
    /// ```
    pub fn drain_budget(self, budget: Duration) -> Context {
        self.scope.set_drain_budget(budget);
        self
    }

    /// Makes this scope drain only after `other` has drained: at shutdown
    /// (or in a partial [`drain`](Self::drain) of this scope, which then
    /// drains `other` first), this scope's tasks keep running until every
    /// task and hook of `other` ended. For an order among siblings that
    /// nesting cannot say: a database pool drained after both the HTTP
    /// server and the workers that use it (tokio-graceful-shutdown's
    /// orchestrated shutdown order). Call it once per scope to wait for.
    ///
    /// Panics, naming both scopes, if `other` is this scope, one of its
    /// ancestors (which drain their children first), or drains after this
    /// one: the drain would wait for itself.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let http = ctx.scope("http");
    /// let workers = ctx.scope("workers");
    /// let db = ctx.scope("db").drain_after(&http).drain_after(&workers);
    /// db.defer("close pool", async { println!("pool closed last") });
    /// # ctx.shutdown();
    /// # });
    /// ```
    #[track_caller]
    pub fn drain_after(self, other: &Context) -> Context {
        if let Err(why) = self.scope.drain_after(&other.scope) {
            panic!("graceful: {why}");
        }
        self
    }

    /// Shuts this scope down on its own while the rest of the process keeps
    /// running: cancels it and its child scopes, and completes once they
    /// drained in the usual order (children, tasks, hooks). A scope drains
    /// once: if the process-wide drain reaches it later, it has nothing left
    /// to do. Await it from outside the scope: a task of the scope awaiting
    /// it would wait for itself.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let consumer = ctx.scope("consumer");
    /// let c = consumer.clone();
    /// consumer.spawn("poll", async move { c.cancelled().await });
    /// consumer.defer("commit offsets", async { println!("offsets committed") });
    /// consumer.drain().await; // the consumer stopped; the service goes on
    /// assert!(consumer.is_cancelled() && !ctx.is_cancelled());
    /// # ctx.shutdown();
    /// # });
    /// ```
    pub fn drain(&self) -> impl Future<Output = ()> + Send + 'static {
        self.scope.clone().drain()
    }

    /// A child scope named `name`. It is drained, and its hooks run, before
    /// this scope's own tasks are cancelled: put what depends on a resource
    /// in a child scope of the one that owns the resource.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let http = ctx.scope("http");
    /// assert_eq!(http.path(), "main/http");
    /// # });
    /// ```
    pub fn scope(&self, name: &str) -> Context {
        Context::new(self.scope.child(name))
    }

    /// The scope's path from the root, such as `main/http`.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// assert_eq!(ctx.path(), "main");
    /// assert_eq!(ctx.scope("http").path(), "main/http");
    /// # ctx.shutdown();
    /// # });
    /// ```
    pub fn path(&self) -> &str {
        self.scope.path()
    }

    /// A child of this scope's cancellation token, for code that expects a
    /// plain `CancellationToken`. Cancelling it does not cancel the scope.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let token = ctx.token(); // for a library that takes a `CancellationToken`
    /// ctx.spawn("legacy", async move { token.cancelled().await });
    ///
    /// ctx.token().cancel(); // cancels only that child token
    /// assert!(!ctx.is_cancelled());
    /// ctx.shutdown(); // cancels the scope, and with it `legacy`'s token
    /// # });
    /// ```
    pub fn token(&self) -> CancellationToken {
        self.scope.token().child_token()
    }
}
