//! Starting tasks: with the scope's default policy, with a given one, or
//! restarted on failure. Every spawn goes through [`Context::spawn_at`] or
//! [`Context::spawn_restarting_at`].

use std::borrow::Cow;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};

use super::Context;
use super::restarting::{RestartLog, restarting};
use crate::failure::Error;
use crate::panic::Panic;
use crate::policy::{Policy, Restart};
use crate::report::Reason;
use crate::task::{TaskHandle, TaskOutput};
use crate::tracked::{Kind, Origin};

impl Context {
    /// The one way into spawning: the `spawn` methods, the task macro and
    /// the runtime's root task all come through here. Without a policy, the
    /// scope's default applies.
    #[inline]
    pub(crate) fn spawn_at<F>(
        &self,
        origin: Origin,
        policy: Option<Policy>,
        fut: F,
    ) -> TaskHandle<<F::Output as TaskOutput>::Value>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let policy = policy.unwrap_or_else(|| self.scope.default_policy());
        if policy == Policy::Essential {
            return self.spawn_essential(origin, fut);
        }
        self.scope.spawn(origin, Kind::Task(policy), fut)
    }

    /// Out of the way of every other spawn, which inlines `spawn_at`.
    #[cold]
    #[inline(never)]
    fn spawn_essential<F>(
        &self,
        origin: Origin,
        fut: F,
    ) -> TaskHandle<<F::Output as TaskOutput>::Value>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let fut = self.ending_the_process(&origin, fut);
        self.scope.spawn(origin, Kind::Task(Policy::Essential), fut)
    }

    /// `fut`, as an essential task: its failure is critical (as the
    /// registry reports it); its end without one starts the shutdown.
    fn ending_the_process<F>(
        &self,
        origin: &Origin,
        fut: F,
    ) -> impl Future<Output = Result<<F::Output as TaskOutput>::Value, Error>> + use<F>
    where
        F: Future,
        F::Output: TaskOutput,
    {
        let shared = self.scope.shared().clone();
        let task = origin.name.to_string();
        async move {
            let output = fut.await.into_result();
            if output.is_ok() {
                shared.request(Reason::Ended { task });
            }
            output
        }
    }

    /// Starts the futures `factory` makes, one after the other, as one
    /// task restarted as `restart` says; see [`spawn_restarting`](Self::spawn_restarting).
    pub(crate) fn spawn_restarting_at<F, Fut>(
        &self,
        origin: Origin,
        restart: Restart,
        factory: F,
    ) -> TaskHandle<<Fut::Output as TaskOutput>::Value>
    where
        F: FnMut(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let log = RestartLog::new(
            Origin {
                name: origin.name.clone(),
                ..origin
            },
            self.path().to_owned(),
            self.scope.shared().clone(),
        );
        let task = restarting(self.clone(), restart, factory, log);
        let task = async move { task.await.unwrap_or_else(|panic| panic.resume()) };
        self.scope.spawn(origin, Kind::Restarted, task)
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
        let (ctx, pool) = (self.clone(), self.scope.shared().handle.clone());
        let task = async move {
            // Caught on the blocking thread, where the panic's location is
            // known, and raised again in the task, which reports it.
            let run = move || {
                std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx))).map_err(Panic::caught)
            };
            match pool.spawn_blocking(run).await {
                Ok(Ok(output)) => output,
                Ok(Err(panic)) => panic.resume(),
                Err(_) => panic!("the runtime shut down before the blocking task ran"),
            }
        };
        self.spawn_at(origin, None, task)
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
        match self.scope.default_policy() {
            Policy::Essential => {
                let fut = self.ending_the_process(&origin, fut);
                self.scope
                    .spawn_local(origin, Kind::Task(Policy::Essential), fut)
            }
            policy => self.scope.spawn_local(origin, Kind::Task(policy), fut),
        }
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
