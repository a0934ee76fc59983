//! The builder that configures and runs the lifecycle: signals, lame duck,
//! drain, deadline, report and exit code.

use std::future::Future;
use std::panic::Location;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until};
use tokio_util::task::AbortOnDropHandle;

use crate::context::Context;
use crate::report::{Outcome, Reason, Report, Running, Secs, console};
use crate::scope::{Scope, Shared, State, lock};
use crate::signal::{self, Signal};
use crate::task::{MainOutput, remember_panic_locations};

/// The environment variable that overrides the shutdown deadline.
pub const TIMEOUT_ENV: &str = "GRACEFUL_TIMEOUT";
/// The environment variable that overrides the lame-duck delay.
pub const LAME_DUCK_ENV: &str = "GRACEFUL_LAME_DUCK";

/// The tokio scheduler [`Runtime::run`] builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Flavor {
    /// tokio's work-stealing scheduler, one worker per core by default.
    #[default]
    MultiThread,
    /// Everything on the thread that called `run`.
    CurrentThread,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment override is not a duration.
    #[error("invalid {var}=`{value}`: {reason}; expected a duration such as `30s` or `1500ms`")]
    BadDuration {
        /// The variable's name.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The tokio runtime or a signal handler could not be set up.
    #[error("cannot start: {0}")]
    Io(#[from] std::io::Error),
}

/// Configures and runs a graceful service; everything `#[graceful::main]`
/// does, without the macro.
///
/// ```no_run
/// use graceful_runtime::Runtime;
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
    lame_duck: Duration,
    signals: Vec<Signal>,
    force_on_second_signal: bool,
    progress_every: Duration,
    flavor: Flavor,
    worker_threads: Option<usize>,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl Runtime {
    /// The defaults: a 30 s deadline (Kubernetes' default grace period), no
    /// lame duck, `SIGINT` and `SIGTERM` (Windows: every console event), a
    /// second signal forces the exit, a multi-threaded scheduler.
    pub fn new() -> Self {
        Runtime {
            timeout: Duration::from_secs(30),
            lame_duck: Duration::ZERO,
            signals: Signal::DEFAULT.to_vec(),
            force_on_second_signal: true,
            progress_every: Duration::from_secs(5),
            flavor: Flavor::MultiThread,
            worker_threads: None,
        }
    }

    /// The one shutdown deadline, counted from the trigger and covering the
    /// lame duck, the drain and the hooks. When it passes, what still runs is
    /// reported and the process exits with code 124.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long to keep serving, while reporting "not ready", after a signal
    /// or [`Context::shutdown`] and before cancelling anything. Zero (the
    /// default) means no lame duck. Skipped when shutdown starts from a
    /// failure or because every task finished.
    pub fn lame_duck(mut self, delay: Duration) -> Self {
        self.lame_duck = delay;
        self
    }

    /// The signals that start a shutdown; an empty set installs no handler.
    pub fn signals(mut self, signals: impl IntoIterator<Item = Signal>) -> Self {
        self.signals = signals.into_iter().collect();
        self.signals.dedup();
        self
    }

    /// Whether a second signal during shutdown reports what still runs and
    /// exits at once with 128 + its number (default `true`).
    pub fn force_on_second_signal(mut self, force: bool) -> Self {
        self.force_on_second_signal = force;
        self
    }

    /// How often a drain that takes long names the tasks still running
    /// (default every 5 s).
    pub fn progress_every(mut self, every: Duration) -> Self {
        self.progress_every = every;
        self
    }

    /// The tokio scheduler that [`run`](Self::run) and
    /// [`block_on`](Self::block_on) build.
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// The number of worker threads of the multi-threaded scheduler.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }

    /// Applies `GRACEFUL_TIMEOUT` and `GRACEFUL_LAME_DUCK` from the
    /// environment over the configured values. A value that is not a
    /// duration (`30s`, `1500ms`, `1m 30s`) is an error naming the variable.
    pub fn env_overrides(self) -> Result<Self, ConfigError> {
        self.overrides_from(|var| std::env::var(var).ok())
    }

    fn overrides_from(
        mut self,
        get: impl Fn(&'static str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let parse = |var: &'static str| -> Result<Option<Duration>, ConfigError> {
            get(var)
                .map(|value| {
                    humantime::parse_duration(value.trim()).map_err(|e| ConfigError::BadDuration {
                        var,
                        value,
                        reason: e.to_string(),
                    })
                })
                .transpose()
        };
        if let Some(timeout) = parse(TIMEOUT_ENV)? {
            self.timeout = timeout;
        }
        if let Some(lame_duck) = parse(LAME_DUCK_ENV)? {
            self.lame_duck = lame_duck;
        }
        Ok(self)
    }

    /// Runs `main` as the root task of a new tokio runtime, supervises it
    /// until the process should exit, prints the final report on stderr and
    /// exits with its code. Environment overrides are applied first; a bad
    /// one is reported and the process exits with code 1.
    ///
    /// At the deadline or a forced exit, nothing more is awaited: blocking
    /// threads and stuck tasks are abandoned by the exit.
    #[track_caller]
    pub fn run<F, Fut>(self, main: F) -> !
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: MainOutput,
    {
        let at = Location::caller();
        let code = match self
            .env_overrides()
            .and_then(|rt| rt.try_block_on(main, at))
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
    /// ```
    /// use graceful_runtime::Runtime;
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     ctx.spawn("fails", async { Err::<(), _>("no database") });
    /// });
    /// assert_eq!(report.exit_code(), 1);
    /// assert_eq!(report.failures[0].task, "fails");
    /// ```
    #[track_caller]
    pub fn block_on<F, Fut>(self, main: F) -> Report
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: MainOutput,
    {
        match self.try_block_on(main, Location::caller()) {
            Ok(report) => report,
            Err(e) => panic!("graceful: {e}"),
        }
    }

    fn try_block_on<F, Fut>(
        self,
        main: F,
        at: &'static Location<'static>,
    ) -> Result<Report, ConfigError>
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: MainOutput,
    {
        let mut builder = match self.flavor {
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        if let Some(n) = self.worker_threads {
            builder.worker_threads(n);
        }
        let rt = builder.enable_all().build()?;
        let report = rt.block_on(self.try_supervise(main, at));
        // Abandon whatever still runs (stuck tasks, blocking threads).
        rt.shutdown_background();
        report
    }

    /// Supervises `main` inside an already running tokio runtime and returns
    /// the [`Report`] when the lifecycle ends. At the deadline or a forced
    /// exit it returns at once; stuck tasks keep running in that runtime.
    /// Panics if a signal handler cannot be installed.
    #[track_caller]
    pub fn supervise<F, Fut>(self, main: F) -> impl Future<Output = Report>
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: MainOutput,
    {
        let at = Location::caller();
        async move {
            match self.try_supervise(main, at).await {
                Ok(report) => report,
                Err(e) => panic!("graceful: {e}"),
            }
        }
    }

    async fn try_supervise<F, Fut>(
        self,
        main: F,
        at: &'static Location<'static>,
    ) -> Result<Report, ConfigError>
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: MainOutput,
    {
        remember_panic_locations();
        let signals = signal::listen(&self.signals)?;
        let shared = Shared::new(!self.lame_duck.is_zero(), tokio::runtime::Handle::current());
        let root = Scope::root(shared.clone(), "main");
        let ctx = Context {
            scope: root.clone(),
        };
        let body = main(ctx.clone());
        root.spawn(
            "main".into(),
            at,
            None,
            async move { MainResult(body.await) },
        );
        tracing::debug!(timeout = ?self.timeout, lame_duck = ?self.lame_duck, signals = ?self.signals, "started");
        Ok(Supervisor {
            cfg: self,
            shared,
            root,
            signals,
        }
        .run()
        .await)
    }
}

/// `main`'s output seen as a task output, so `main` is tracked and reported
/// like any task.
struct MainResult<T>(T);

impl<T: MainOutput> crate::task::TaskOutput for MainResult<T> {
    fn failure(&self) -> Option<String> {
        self.0.failure()
    }
}

struct Supervisor {
    cfg: Runtime,
    shared: std::sync::Arc<Shared>,
    root: std::sync::Arc<Scope>,
    signals: mpsc::UnboundedReceiver<Signal>,
}

impl Supervisor {
    async fn run(mut self) -> Report {
        let shared = self.shared.clone();
        tokio::select! {
            Some(sig) = self.signals.recv() => shared.request(Reason::Signal(sig)),
            () = shared.requested.cancelled() => {}
            () = self.root.all_ended() => shared.request(Reason::Finished),
        }
        let (reason, triggered) = shared
            .reason
            .get()
            .cloned()
            .expect("a reason is set with the request");
        let deadline = triggered + self.cfg.timeout;
        self.announce(&reason);

        if shared.state() == State::LameDuck {
            tracing::info!(delay = ?self.cfg.lame_duck, "lame duck: not ready, still serving");
            let lame_duck = sleep(self.cfg.lame_duck);
            tokio::pin!(lame_duck);
            loop {
                tokio::select! {
                    () = &mut lame_duck => break,
                    () = shared.failed.cancelled() => break,
                    () = self.root.all_ended() => break,
                    () = sleep_until(deadline) => return self.abort(Outcome::DeadlineExceeded { timeout: self.cfg.timeout }),
                    Some(sig) = self.signals.recv() => if let Some(report) = self.second_signal(sig) { return report },
                }
            }
        }

        shared.set_state(State::Draining);
        tracing::info!("draining");
        let drain = {
            let root = self.root.clone();
            async move {
                // On a worker: the wake-ups of a large scope's tasks are then
                // pushed to that worker's queue rather than the shared one.
                // Aborted if the deadline passes first.
                let drain = root.shared.handle.spawn(root.clone().drain());
                let _ = AbortOnDropHandle::new(drain).await;
                // Tasks started after their scope drained (rare) are awaited too.
                root.all_ended().await;
            }
        };
        tokio::pin!(drain);
        let every = self.cfg.progress_every;
        let mut progress = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                () = &mut drain => break,
                () = sleep_until(deadline) => return self.abort(Outcome::DeadlineExceeded { timeout: self.cfg.timeout }),
                Some(sig) = self.signals.recv() => if let Some(report) = self.second_signal(sig) { return report },
                _ = progress.tick() => self.progress(triggered),
            }
        }
        let report = self.report(Outcome::Completed, Vec::new());
        tracing::info!(took = ?report.shutdown_took, failures = report.failures.len(), "shutdown complete");
        report
    }

    fn announce(&self, reason: &Reason) {
        tracing::info!(%reason, timeout = ?self.cfg.timeout, "shutdown started");
        match reason {
            Reason::Finished => {}
            Reason::Signal(sig) if self.cfg.force_on_second_signal => console(format_args!(
                "graceful: {reason}, shutting down (deadline {}); send {sig} again to force exit",
                Secs(self.cfg.timeout)
            )),
            _ => console(format_args!(
                "graceful: {reason}, shutting down (deadline {})",
                Secs(self.cfg.timeout)
            )),
        }
    }

    /// A signal during shutdown: the forced-exit report, or `None` if forcing is off.
    fn second_signal(&self, sig: Signal) -> Option<Report> {
        if self.cfg.force_on_second_signal {
            tracing::warn!(signal = %sig, "second signal: forcing exit");
            Some(self.abort(Outcome::Forced(sig)))
        } else {
            tracing::warn!(signal = %sig, "signal ignored: already shutting down");
            None
        }
    }

    fn progress(&self, triggered: tokio::time::Instant) {
        let running = self.running();
        let names: Vec<String> = running
            .iter()
            .map(|r| format!("`{}` ({})", r.name, r.scope))
            .collect();
        tracing::warn!(tasks = ?names, elapsed = ?triggered.elapsed(), "still draining");
        console(format_args!(
            "graceful: still draining after {}, waiting for: {}",
            Secs(triggered.elapsed()),
            names.join(", ")
        ));
    }

    fn running(&self) -> Vec<Running> {
        let mut running = Vec::new();
        self.root.running(&mut running);
        running
    }

    fn abort(&self, outcome: Outcome) -> Report {
        let report = self.report(outcome, self.running());
        match outcome {
            Outcome::DeadlineExceeded { timeout } => {
                tracing::error!(
                    ?timeout,
                    still_running = report.still_running.len(),
                    "shutdown deadline passed"
                )
            }
            _ => tracing::error!(
                still_running = report.still_running.len(),
                "exit forced by a second signal"
            ),
        }
        for r in &report.still_running {
            tracing::error!(task = %r.name, scope = %r.scope, spawned_at = %r.spawned_at, "still running at exit");
        }
        report
    }

    fn report(&self, outcome: Outcome, still_running: Vec<Running>) -> Report {
        let (reason, triggered) = self
            .shared
            .reason
            .get()
            .cloned()
            .expect("shutdown has a reason");
        Report {
            reason,
            outcome,
            failures: lock(&self.shared.failures).clone(),
            still_running,
            shutdown_took: triggered.elapsed(),
        }
    }
}
