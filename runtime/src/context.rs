//! `Context`: the handle every task receives.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::cancelled::{Cancelled, RunUntilCancelled};
use crate::lifecycle::State;
use crate::policy::{Policy, Restart, RestartLog, restarting};
use crate::report::Reason;
use crate::scope::Scope;
use crate::task::{TaskHandle, TaskOutput};
use crate::tracked::{Kind, Origin};

/// The handle a task uses to learn about shutdown and to start more work.
///
/// Owned and cheap to clone (one reference count), `Send + Sync + 'static`.
/// It belongs to a *scope*: a group of tasks with its own cancellation and
/// its own teardown hooks. At shutdown a scope's child scopes are drained
/// first, then its own tasks are cancelled and awaited, then its hooks run,
/// last registered first.
///
/// ```
/// use graceful_runtime::{Context, Runtime};
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

impl Context {
    pub(crate) fn new(scope: Arc<Scope>) -> Context {
        Context { scope }
    }

    /// The one way into spawning: the `spawn` methods, the task macro and
    /// the runtime's root task all come through here. Without a policy, the
    /// scope's default applies.
    pub(crate) fn spawn_at<F>(
        &self,
        origin: Origin,
        policy: Option<Policy>,
        fut: F,
    ) -> TaskHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let policy = policy.unwrap_or_else(|| self.scope.default_policy());
        self.scope.spawn(origin, Kind::Task(policy), fut)
    }

    /// Starts the futures `factory` makes, one after the other, as one
    /// task restarted as `restart` says; see [`spawn_restarting`](Self::spawn_restarting).
    pub(crate) fn spawn_restarting_at<F, Fut>(
        &self,
        origin: Origin,
        restart: Restart,
        factory: F,
    ) -> TaskHandle<Fut::Output>
    where
        F: FnMut(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let log = RestartLog::new(
            Origin::new(origin.name.clone(), origin.spawned_at),
            self.path().to_owned(),
            self.scope.shared().clone(),
        );
        let task = restarting(self.clone(), restart, factory, log);
        let task = async move { task.await.unwrap_or_else(|panic| panic.resume()) };
        self.scope.spawn(origin, Kind::Restarted, task)
    }

    /// Completes when this scope is cancelled: at shutdown, after the lame
    /// duck and after the child scopes have drained.
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled::new(&self.scope)
    }

    /// Whether this scope has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.scope.is_cancelled()
    }

    /// Runs `fut` until it completes (`Some(output)`) or the scope is
    /// cancelled (`None`, and `fut` is dropped).
    ///
    /// ```
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
    /// ctx.shutdown();
    /// # ctx.cancelled().await;
    /// let never = std::future::pending::<()>();
    /// assert_eq!(ctx.run_until_cancelled(never).await, None);
    /// # });
    /// ```
    pub fn run_until_cancelled<F: Future>(&self, fut: F) -> RunUntilCancelled<'_, F> {
        RunUntilCancelled::new(&self.scope, fut)
    }

    /// Starts `fut` as a task of this scope and returns its handle at once.
    ///
    /// The task is tracked whether or not the handle is kept: at shutdown it
    /// is awaited (after its scope is cancelled). If it returns `Err` or
    /// panics, the failure is reported and follows the scope's default
    /// [`Policy`]: [`Critical`](Policy::Critical) (the whole process shuts
    /// down) unless the scope says otherwise, as a request's scope does
    /// ([`Isolated`](Policy::Isolated)); see [`spawn_with`](Self::spawn_with).
    /// A task spawned into a scope that is already cancelled still runs (its
    /// context is cancelled from the start) and is awaited.
    ///
    /// Works from any thread, inside the runtime or not.
    ///
    /// ```
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let handle = ctx.spawn("compute", async { Ok::<u32, std::io::Error>(6 * 7) });
    /// assert_eq!(handle.await.unwrap().unwrap(), 42);
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, name: impl Into<Cow<'static, str>>, fut: F) -> TaskHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let origin = Origin::new(name.into(), Location::caller());
        self.spawn_at(origin, None, fut)
    }

    /// Like [`spawn`](Self::spawn), with the [`Policy`] its failure follows.
    ///
    /// ```
    /// use graceful_runtime::{Policy, Runtime};
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     let session = ctx.spawn_with(Policy::Isolated, "session", async {
    ///         Err::<(), _>("connection reset by peer")
    ///     });
    ///     assert!(session.await.unwrap().is_err());
    ///     assert_eq!(ctx.reason(), None); // still running
    ///     ctx.shutdown();
    /// });
    /// assert_eq!(report.exit_code(), 0);
    /// assert_eq!(report.isolated[0].task, "session");
    /// ```
    #[track_caller]
    pub fn spawn_with<F>(
        &self,
        policy: Policy,
        name: impl Into<Cow<'static, str>>,
        fut: F,
    ) -> TaskHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let origin = Origin::new(name.into(), Location::caller());
        self.spawn_at(origin, Some(policy), fut)
    }

    /// Starts a task that is started again when it fails (or, with
    /// [`Restart::on_any_return`], whenever it returns): `factory` makes each
    /// run's future from the task's context. Restarts follow an exponential
    /// backoff with jitter, at most [`Restart::intensity`] times in a window;
    /// one failure more escalates as critical (exit code 1, and the report
    /// says why). Once shutdown began, nothing is restarted: the run in
    /// progress is cancelled and awaited like any task. The report lists
    /// each restarted task with its count and last failure.
    ///
    /// The handle yields the output of the last run.
    ///
    /// ```
    /// use graceful_runtime::{Restart, Runtime};
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    ///
    /// let runs = Arc::new(AtomicU32::new(0));
    /// let report = Runtime::new().signals([]).block_on({
    ///     let runs = runs.clone();
    ///     move |ctx| async move {
    ///         let restart = Restart::new().backoff(Duration::from_millis(1), Duration::from_millis(10));
    ///         let consumer = ctx.spawn_restarting("consumer", restart, move |_ctx| {
    ///             let run = runs.fetch_add(1, Ordering::SeqCst);
    ///             async move { if run < 2 { Err("broker unreachable") } else { Ok(run) } }
    ///         });
    ///         assert_eq!(consumer.await.unwrap(), Ok(2)); // the third run succeeded
    ///     }
    /// });
    /// assert_eq!(report.exit_code(), 0);
    /// assert_eq!(report.restarts[0].restarts, 2);
    /// ```
    #[track_caller]
    pub fn spawn_restarting<F, Fut>(
        &self,
        name: impl Into<Cow<'static, str>>,
        restart: Restart,
        factory: F,
    ) -> TaskHandle<Fut::Output>
    where
        F: FnMut(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let origin = Origin::new(name.into(), Location::caller());
        self.spawn_restarting_at(origin, restart, factory)
    }

    /// Sets the [`Policy`] of the tasks spawned in this scope without one
    /// (by [`spawn`](Self::spawn) and `#[graceful::task]` functions), and
    /// the default of child scopes created from now on. Returns the
    /// context, to chain after [`scope`](Self::scope).
    ///
    /// ```
    /// use graceful_runtime::{Policy, Runtime};
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
    /// use graceful_runtime::{FailureKind, Runtime};
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

    /// Adds what `describe` returns, one line per thing in flight, to the
    /// task dump and to the report of a deadline or forced exit, under this
    /// scope's path: a server lists its requests in flight, a queue its
    /// jobs. It is called when a report is made, on the supervisor's
    /// thread, without a lock held; keep it short and cap what it lists.
    ///
    /// ```
    /// use graceful_runtime::Runtime;
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
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
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
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
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
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
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

    /// Asks for a graceful shutdown of the whole process, as a signal would.
    pub fn shutdown(&self) {
        self.scope.shared().request(Reason::Requested);
    }

    /// Why shutdown began, or `None` while running.
    pub fn reason(&self) -> Option<Reason> {
        self.scope.shared().reason()
    }

    /// Where the process is: running, in its lame duck, or draining. A
    /// readiness check answers "ready" only in [`State::Running`].
    pub fn state(&self) -> State {
        self.scope.shared().state()
    }

    /// Completes as soon as shutdown is requested, before the lame duck:
    /// the moment to stop advertising readiness. Use
    /// [`cancelled`](Self::cancelled) to stop work.
    pub fn shutdown_requested(&self) -> WaitForCancellationFuture<'_> {
        self.scope.shared().requested.cancelled()
    }

    /// The scope's path from the root, such as `main/http`.
    pub fn path(&self) -> &str {
        self.scope.path()
    }

    /// A child of this scope's cancellation token, for code that expects a
    /// plain `CancellationToken`. Cancelling it does not cancel the scope.
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
