//! The builder that configures the lifecycle (lame duck, deadline,
//! scheduler; the signals in `runtime/signal_options.rs`, the upgrade in
//! `runtime/upgrade_options.rs`) and its entry points, which start `main`
//! as the root task and hand it to the supervisor.

use std::future::Future;
use std::panic::Location;
use std::time::Duration;

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::{self, ConfigError};
use crate::console::console;
use crate::context::Context;
use crate::env::{LAME_DUCK, TIMEOUT};
use crate::notify::Notifier;
use crate::panic::remember_panic_locations;
use crate::process::Process;
use crate::report::Report;
use crate::root::RootTask;
use crate::scope::Scope;
use crate::signal::Signal;
use crate::signal::os::{self, Delivery, Handlers};
use crate::signal::table::Table;
use crate::supervisor::{Limits, Supervisor};
use crate::task::TaskOutput;

/// The tokio scheduler [`Runtime::run`] builds.
///
/// ```
/// use graceful::{Flavor, Runtime};
///
/// let report = Runtime::new()
///     .flavor(Flavor::CurrentThread) // everything on this thread
///     .signals([])
///     .block_on(|ctx| async move { ctx.shutdown() });
/// assert_eq!(report.exit_code(), 0);
/// assert_eq!(Flavor::default(), Flavor::MultiThread);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Flavor {
    /// tokio's work-stealing scheduler, one worker per core by default.
    #[default]
    MultiThread,
    /// Everything on the thread that called `run`.
    CurrentThread,
}

/// Configures and runs a graceful service; everything `#[graceful::main]`
/// does, without the macro.
///
/// ```no_run
/// use graceful::Runtime;
/// use std::time::Duration;
///
/// fn main() {
///     Runtime::new()
///         .timeout(Duration::from_secs(20))
///         .lame_duck(Duration::from_secs(5))
///         .run(|ctx| async move {
///             let task_ctx = ctx.clone();
///             ctx.spawn("ticker", async move {
///                 while task_ctx.run_until_cancelled(tokio::time::sleep(Duration::from_secs(1))).await.is_some() {
///                     println!("tick");
///                 }
///             });
///         })
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Runtime {
    timeout: Duration,
    pub(crate) lame_duck: Duration,
    signals: Vec<Signal>,
    dump_signal: Option<Signal>,
    force_on_second_signal: bool,
    progress_every: Duration,
    /// `None`: the default of the entry point (a test's is not `run`'s).
    pub(crate) flavor: Option<Flavor>,
    worker_threads: Option<usize>,
    #[cfg(all(unix, feature = "upgrade"))]
    pub(crate) upgrade: crate::upgrade::UpgradeConfig,
    /// Whether a test starts with tokio's clock paused.
    #[cfg(feature = "test-util")]
    pub(crate) start_paused: bool,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

mod signal_options;
mod start;
#[cfg(all(unix, feature = "upgrade"))]
mod upgrade_options;

impl Runtime {
    /// The defaults: a 30 s deadline (Kubernetes' default grace period), no
    /// lame duck, `SIGINT` and `SIGTERM` (Windows: every console event), a
    /// second signal forces the exit, a multi-threaded scheduler.
    ///
    /// ```
    /// use graceful::Runtime;
    ///
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     ctx.spawn("work", async { Ok::<_, std::io::Error>(()) });
    /// }); // every task ended by itself: the lifecycle is over
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn new() -> Self {
        Runtime {
            timeout: Duration::from_secs(30),
            lame_duck: Duration::ZERO,
            signals: Signal::DEFAULT.to_vec(),
            dump_signal: Signal::DUMP,
            force_on_second_signal: true,
            progress_every: Duration::from_secs(5),
            flavor: None,
            worker_threads: None,
            #[cfg(all(unix, feature = "upgrade"))]
            upgrade: crate::upgrade::UpgradeConfig::default(),
            #[cfg(feature = "test-util")]
            start_paused: true,
        }
    }

    /// The one shutdown deadline, counted from the trigger and covering the
    /// lame duck, the drain and the hooks. When it passes, what still runs is
    /// reported and the process exits with code 124.
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// let report = Runtime::new()
    ///     .timeout(Duration::from_secs(20)) // within a 30 s grace period
    ///     .signals([])
    ///     .block_on(|ctx| async move { ctx.shutdown() });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long to keep serving, while reporting "not ready", after a signal
    /// or [`Context::shutdown`] and before cancelling anything. Zero (the
    /// default) means no lame duck. Skipped when shutdown starts from a
    /// failure or because every task finished. Overridden by
    /// [`GRACEFUL_LAME_DUCK`](crate::env::LAME_DUCK).
    ///
    /// During it [`Context::state`] is [`State::LameDuck`](crate::State::LameDuck):
    /// a readiness check answers 503 (`graceful::http::ready` does) so that
    /// load balancers take the process out, and `graceful::http` servers
    /// keep serving but tell clients to leave (HTTP/1 `Connection: close`,
    /// HTTP/2 `GOAWAY`) while still accepting new connections, so that
    /// pooled clients move elsewhere before the listener closes. Make it
    /// longer than the load balancer needs to notice.
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// let report = Runtime::new()
    ///     .lame_duck(Duration::from_millis(10)) // not ready, still serving, then drain
    ///     .signals([])
    ///     .block_on(|ctx| async move { ctx.shutdown() });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn lame_duck(mut self, delay: Duration) -> Self {
        self.lame_duck = delay;
        self
    }

    /// How often a drain that takes long names the tasks still running
    /// (default every 5 s); never less than a second (or one period, if
    /// shorter) before the deadline, whose report names them.
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// let report = Runtime::new()
    ///     .progress_every(Duration::from_secs(1))
    ///     .signals([])
    ///     .block_on(|ctx| async move { ctx.shutdown() });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn progress_every(mut self, every: Duration) -> Self {
        self.progress_every = every;
        self
    }

    /// The tokio scheduler that [`run`](Self::run) and
    /// [`block_on`](Self::block_on) build ([`Flavor::MultiThread`] unless
    /// told; a test's is [`Flavor::CurrentThread`] unless told).
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// let report = Runtime::new()
    ///     .flavor(graceful::Flavor::CurrentThread)
    ///     .signals([])
    ///     .block_on(|ctx| async move { ctx.shutdown() });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = Some(flavor);
        self
    }

    /// The number of worker threads of the multi-threaded scheduler.
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// let report = Runtime::new()
    ///     .worker_threads(2)
    ///     .signals([])
    ///     .block_on(|ctx| async move { ctx.shutdown() });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }

    /// Runs `main` as the root task of a new tokio runtime, supervises it
    /// until the process should exit, prints the final report on stderr and
    /// exits with its code. Environment overrides are applied first; a bad
    /// one is reported and the process exits with code 1.
    ///
    /// At the deadline or a forced exit, nothing more is awaited: blocking
    /// threads and stuck tasks are abandoned by the exit.
    ///
    /// ```no_run
    /// use graceful::Runtime;
    ///
    /// fn main() {
    ///     Runtime::new().run(|ctx| async move {
    ///         ctx.spawn("server", async { /* .. */ });
    ///         Ok::<(), std::io::Error>(())
    ///     }) // never returns: exits with the report's code
    /// }
    /// ```
    #[track_caller]
    pub fn run<F, Fut>(self, main: F) -> !
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput<Value = ()>,
    {
        // The handlers first: a signal from now on is honoured.
        let listening = self.listen();
        // Kept until the process exits, never removed: removing them (a
        // reading thread to stop per signal) only delays the exit, and a
        // signal that came meanwhile would find its default action.
        let _handlers = listening
            .as_ref()
            .ok()
            .map(|listening| listening.handlers.clone());
        let main = RootTask::new(main, Location::caller());
        let code = match self
            .env_overrides()
            .and_then(|rt| rt.try_block_on(main, listening?))
        {
            Ok(report) => {
                if report.worth_printing() {
                    console(format_args!("{report}"));
                }
                report.exit_code()
            }
            Err(e) => {
                console(format_args!("graceful: {e}"));
                1
            }
        };
        std::process::exit(code)
    }

    /// Like [`run`](Self::run) but returns the [`Report`] instead of printing
    /// it and exiting, and ignores the environment. Panics if the tokio
    /// runtime or a signal handler cannot be set up.
    ///
    /// What `run` writes to stderr *while* the shutdown runs, `block_on`
    /// writes too, as it happens: the notice that it began
    /// (`graceful: shutdown requested, shutting down (deadline 30.00s)`),
    /// the progress lines of a slow drain, a reload hook's failure. Those
    /// are for whoever watches the process, and a report returned after a
    /// stuck drain would come too late for them. Only the final report is
    /// left to the caller.
    ///
    /// ```
    /// use graceful::Runtime;
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     ctx.spawn("fails", async { Err::<(), _>("no database") });
    /// });
    /// assert_eq!(report.exit_code(), 1);
    /// assert_eq!(report.failures[0].who.name, "fails");
    /// ```
    #[track_caller]
    pub fn block_on<F, Fut>(self, main: F) -> Report
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput<Value = ()>,
    {
        let listening = self.listen();
        let main = RootTask::new(main, Location::caller());
        match listening.and_then(|listening| self.try_block_on(main, listening)) {
            Ok(report) => report,
            Err(e) => panic!("graceful: {e}"),
        }
    }

    /// Supervises `main` inside an already running tokio runtime and returns
    /// the [`Report`] when the lifecycle ends. At the deadline or a forced
    /// exit it returns at once; stuck tasks keep running in that runtime.
    /// Panics if a signal handler cannot be installed.
    ///
    /// ```
    /// use graceful::Runtime;
    ///
    /// #[tokio::main(flavor = "current_thread")]
    /// async fn main() {
    ///     let report = Runtime::new()
    ///         .signals([])
    ///         .supervise(|ctx| async move { ctx.shutdown() })
    ///         .await;
    ///     assert_eq!(report.exit_code(), 0);
    /// }
    /// ```
    #[track_caller]
    pub fn supervise<F, Fut>(self, main: F) -> impl Future<Output = Report>
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput<Value = ()>,
    {
        let at = Location::caller();
        let listening = self.listen();
        async move {
            let listening = listening.unwrap_or_else(|e| panic!("graceful: {e}"));
            let (supervisor, root) = self.prepare(listening);
            // Started before the first `.await`: the erased `main` is not
            // part of this future, which is `Send` whenever `main` is.
            RootTask::new(main, at).start(root);
            supervisor.run().await
        }
    }
}
