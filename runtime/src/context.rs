//! `Context`: the handle every task receives.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cancelled::{Cancelled, RunUntilCancelled};
use crate::policy::Policy;
use crate::scope::Scope;
use crate::task::TaskOutput;

/// The handle a task uses to learn about shutdown and to start more work.
///
/// Owned and cheap to clone (one reference count), `Send + Sync + 'static`.
/// It belongs to a *scope*: a group of tasks with its own cancellation and
/// its own teardown hooks. At shutdown a scope's child scopes are drained
/// first, then its own tasks are cancelled and awaited, then its hooks run,
/// last registered first.
///
/// ```
/// use graceful::{Context, Runtime};
/// use std::time::Duration;
///
/// let report = Runtime::new().signals([]).block_on(|ctx: Context| async move {
///     ctx.spawn("ticker", {
///         let ctx = ctx.clone();
///         async move {
///             let mut every = tokio::time::interval(Duration::from_millis(10));
///             while ctx.run_until_cancelled(every.tick()).await.is_some() {}
///         }
///     });
///     ctx.shutdown(); // as a signal would
/// });
/// assert_eq!(report.exit_code(), 0);
/// ```
#[derive(Clone)]
pub struct Context {
    scope: Arc<Scope>,
}

pub use abort::Abort;
pub use isolate::Isolate;

mod abort;
mod isolate;
mod process_wide;
mod restarting;
mod spawn;

impl Context {
    pub(crate) fn new(scope: Arc<Scope>) -> Context {
        Context { scope }
    }

    /// Completes when this scope is cancelled: at shutdown, after the lame
    /// duck and after the child scopes have drained.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let worker = ctx.clone();
    /// ctx.spawn("worker", async move {
    ///     worker.cancelled().await; // at shutdown
    ///     println!("worker: cleaning up");
    /// });
    /// ctx.shutdown();
    /// # });
    /// ```
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled::new(&self.scope)
    }

    /// Whether this scope has been cancelled.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let worker = ctx.clone();
    /// ctx.spawn("batch", async move {
    ///     for item in 0..1_000 {
    ///         if worker.is_cancelled() {
    ///             break; // checked between two units of work
    ///         }
    ///         let _ = item;
    ///         tokio::task::yield_now().await;
    ///     }
    /// });
    /// assert!(!ctx.is_cancelled());
    /// ctx.shutdown();
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.scope.is_cancelled()
    }

    /// Runs `fut` until it completes (`Some(output)`) or the scope is
    /// cancelled (`None`, and `fut` is dropped).
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// ctx.shutdown();
    /// # ctx.cancelled().await;
    /// let never = std::future::pending::<()>();
    /// assert_eq!(ctx.run_until_cancelled(never).await, None);
    /// # });
    /// ```
    pub fn run_until_cancelled<F: Future>(&self, fut: F) -> RunUntilCancelled<'_, F> {
        RunUntilCancelled::new(&self.scope, fut)
    }

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

    /// Adds what `describe` returns, one line per thing in flight, to the
    /// task dump and to the report of a deadline or forced exit, under this
    /// scope's path: a server lists its requests in flight, a queue its
    /// jobs. It is called when a report is made, on the supervisor's
    /// thread, without a lock held; keep it short and cap what it lists.
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let report = Runtime::new().signals([]).timeout(Duration::from_millis(50)).block_on(|ctx| async move {
    ///     let jobs = Arc::new(Mutex::new(vec!["job 7: resize photo".to_owned()]));
    ///     let listed = jobs.clone();
    ///     ctx.describe(move || listed.lock().unwrap().clone());
    ///     ctx.spawn("worker", std::future::pending::<()>()); // never ends
    ///     ctx.shutdown();
    /// });
    /// assert_eq!(report.exit_code(), 124);
    /// assert_eq!(report.notes[0].lines, ["job 7: resize photo"]);
    /// ```
    pub fn describe(&self, describe: impl Fn() -> Vec<String> + Send + Sync + 'static) {
        self.scope.describe(Arc::new(describe));
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

    /// Registers a teardown hook of this scope: `hook` runs at shutdown after
    /// every task of this scope (and its children) ended. Hooks run last
    /// registered first, each one even if an earlier one failed; a hook that
    /// returns `Err` or panics is reported and makes the exit code 1. The
    /// deadline covers hooks too.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// ctx.defer("close db", async { println!("db closed") });
    /// ctx.defer("flush cache", async { println!("cache flushed") }); // runs first
    /// # });
    /// ```
    #[track_caller]
    pub fn defer<F>(&self, name: impl Into<Cow<'static, str>>, hook: F)
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        self.scope.defer(name.into(), Location::caller(), hook);
    }

    /// Registers a reload hook: on `SIGHUP`, every reload hook runs, one
    /// after the other in the order they were registered, while the
    /// service goes on (re-read a configuration file, reopen log files).
    /// A hook that fails is said on stderr at once and reported as an
    /// isolated failure. Once a reload hook exists, `SIGHUP` reloads even
    /// if it is also a shutdown signal; without one, `SIGHUP` is a shutdown
    /// if listed in [`Runtime::signals`](crate::Runtime::signals), else,
    /// under a service manager (`INVOCATION_ID` or `NOTIFY_SOCKET` set),
    /// said on stderr and ignored (`systemctl reload` must not stop a
    /// service), else its default action.
    /// Nothing is reloaded once the shutdown began. (Windows has no
    /// `SIGHUP`: the hooks are kept but no signal runs them.)
    ///
    /// ```no_run
    /// use graceful::Runtime;
    /// use std::sync::{Arc, RwLock};
    ///
    /// Runtime::new().run(|ctx| async move {
    ///     let config = Arc::new(RwLock::new(std::fs::read_to_string("app.toml")?));
    ///     let c = config.clone();
    ///     ctx.on_reload("config", move || {
    ///         let c = c.clone();
    ///         async move {
    ///             *c.write().unwrap() = tokio::fs::read_to_string("app.toml").await?;
    ///             Ok::<(), std::io::Error>(())
    ///         }
    ///     });
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// ```
    #[track_caller]
    pub fn on_reload<F, Fut>(&self, name: impl Into<Cow<'static, str>>, hook: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let shared = self.scope.shared();
        shared.reloads.add(
            name.into(),
            Location::caller(),
            self.scope.path().to_owned(),
            hook,
        );
        #[cfg(unix)]
        if let Some(handlers) = &shared.handlers {
            let hangup = crate::signal::os::Heard::Signal(crate::signal::table::RELOAD);
            if let Err(error) = handlers.hear(hangup) {
                tracing::error!(%error, "cannot listen to SIGHUP: reload hooks will not run");
            }
        }
    }

    /// The hub of this context's runtime (the upgrade keeps its offers there).
    #[cfg(all(unix, feature = "upgrade"))]
    pub(crate) fn process(&self) -> &Arc<crate::process::Process> {
        self.scope.shared()
    }

    /// Tells the service manager (and the upgrade, through `main_returned`)
    /// that the service is ready.
    pub(crate) fn notify_ready(&self) {
        tracing::info!("ready");
        self.scope.shared().started();
        self.scope.shared().main_returned.cancel();
        self.scope.shared().notifier.ready();
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

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("scope", &self.path())
            .field("cancelled", &self.is_cancelled())
            .field("state", &self.state())
            .finish()
    }
}
