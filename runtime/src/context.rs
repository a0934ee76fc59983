//! `Context`: the handle every task receives.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::cancelled::{Cancelled, RunUntilCancelled};
use crate::policy::{Policy, Restart};
use crate::scope::Scope;
use crate::task::{TaskHandle, TaskOutput};
use crate::tracked::Origin;

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
mod scopes;
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
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let handle = ctx.spawn("compute", async { Ok::<u32, std::io::Error>(6 * 7) });
    /// assert_eq!(handle.await.unwrap(), 42);
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn<F>(
        &self,
        name: impl Into<Cow<'static, str>>,
        fut: F,
    ) -> TaskHandle<<F::Output as TaskOutput>::Value>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let origin = Origin::new(name.into(), Location::caller());
        self.spawn_at(origin, None, fut)
    }

    /// Like [`spawn`](Self::spawn), handing the task a context of its own
    /// (a clone of this one): `task` makes the future from it. A task that
    /// watches its context cannot be written with `spawn` and `async move`
    /// without a clone first, since the future would move `ctx` while
    /// `spawn` borrows it (`E0505`); with `spawn_fn` it can.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let worker = ctx.spawn_fn("worker", |ctx| async move {
    ///     let mut jobs = 0;
    ///     while ctx.run_until_cancelled(tokio::task::yield_now()).await.is_some() {
    ///         jobs += 1;
    ///     }
    ///     Ok::<u32, std::io::Error>(jobs)
    /// });
    /// ctx.shutdown();
    /// let _jobs: u32 = worker.await.unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn_fn<F, Fut>(
        &self,
        name: impl Into<Cow<'static, str>>,
        task: F,
    ) -> TaskHandle<<Fut::Output as TaskOutput>::Value>
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let origin = Origin::new(name.into(), Location::caller());
        self.spawn_at(origin, None, task(self.clone()))
    }

    /// Runs `f` on the runtime's blocking thread pool (as
    /// `tokio::task::spawn_blocking`), as a task of this scope: named in
    /// reports and dumps, awaited by the drain, its `Err` or panic a
    /// failure as the scope's policy says. Blocking code cannot be
    /// cancelled: `f` gets the task's context to look at
    /// [`is_cancelled`](Self::is_cancelled) between steps; one that never
    /// looks is named at the deadline, and the process exits without
    /// waiting for it.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let resize = ctx.spawn_blocking("resize", |ctx| {
    ///     let mut rows = 0;
    ///     while rows < 1_000 && !ctx.is_cancelled() {
    ///         rows += 1; // a row of CPU-bound or blocking work
    ///     }
    ///     Ok::<u32, std::io::Error>(rows)
    /// });
    /// assert_eq!(resize.await.unwrap(), 1_000);
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, O>(
        &self,
        name: impl Into<Cow<'static, str>>,
        f: F,
    ) -> TaskHandle<O::Value>
    where
        F: FnOnce(Context) -> O + Send + 'static,
        O: TaskOutput,
    {
        let origin = Origin::new(name.into(), Location::caller());
        self.spawn_at(origin, None, self.on_blocking_pool(f))
    }

    /// Starts `fut`, which need not be `Send` (it may hold an `Rc` across
    /// an `.await`), as a task of this scope on the current
    /// [`tokio::task::LocalSet`], as `tokio::task::spawn_local` does: named
    /// in reports and dumps, awaited by the drain, its failure following
    /// the scope's policy. Panics outside a `LocalSet`.
    ///
    /// ```
    /// use std::rc::Rc;
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// // A thread of its own runs the `!Send` work, on a `LocalSet`.
    /// let scope = ctx.scope("local");
    /// let thread = std::thread::spawn(move || {
    ///     let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    ///     let local = tokio::task::LocalSet::new();
    ///     local.block_on(&rt, async move {
    ///         let cache = Rc::new(vec![1, 2, 3]);
    ///         let sum = scope.spawn_local("sum", async move {
    ///             tokio::task::yield_now().await;
    ///             Ok::<u32, std::io::Error>(cache.iter().sum()) // `Rc` held across the `.await`
    ///         });
    ///         assert_eq!(sum.await.unwrap(), 6);
    ///     });
    /// });
    /// thread.join().unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(
        &self,
        name: impl Into<Cow<'static, str>>,
        fut: F,
    ) -> TaskHandle<<F::Output as TaskOutput>::Value>
    where
        F: Future + 'static,
        F::Output: TaskOutput,
    {
        let origin = Origin::new(name.into(), Location::caller());
        self.spawn_local_at(origin, fut)
    }

    /// Like [`spawn`](Self::spawn), with the [`Policy`] its failure follows.
    ///
    /// ```
    /// use graceful::{Policy, Runtime};
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     let session = ctx.spawn_with(Policy::Isolated, "session", async {
    ///         Err::<(), _>("connection reset by peer")
    ///     });
    ///     assert!(matches!(session.await, Err(graceful::TaskError::Failed(_))));
    ///     assert_eq!(ctx.reason(), None); // still running
    ///     ctx.shutdown();
    /// });
    /// assert_eq!(report.exit_code(), 0);
    /// assert_eq!(report.isolated[0].who.name, "session");
    /// ```
    #[track_caller]
    pub fn spawn_with<F>(
        &self,
        policy: Policy,
        name: impl Into<Cow<'static, str>>,
        fut: F,
    ) -> TaskHandle<<F::Output as TaskOutput>::Value>
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
    /// The handle yields what the last run returned.
    ///
    /// ```
    /// use graceful::{Restart, Runtime};
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
    ///         assert_eq!(consumer.await.unwrap(), 2); // the third run succeeded
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
    ) -> TaskHandle<<Fut::Output as TaskOutput>::Value>
    where
        F: FnMut(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let origin = Origin::new(name.into(), Location::caller());
        self.spawn_restarting_at(origin, restart, factory)
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
