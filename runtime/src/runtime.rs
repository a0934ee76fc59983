//! The builder that configures the lifecycle (signals, lame duck,
//! deadline, scheduler). Its entry points are in `runtime/entry.rs`, how
//! they start in `runtime/start.rs`.

use std::future::Future;
use std::panic::Location;
use std::time::Duration;

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::{self, ConfigError};
use crate::console::console;
use crate::context::Context;
use crate::env::{LAME_DUCK, TIMEOUT};
use crate::panic::remember_panic_locations;
use crate::process::Process;
use crate::report::Report;
use crate::root::RootTask;
use crate::scope::Scope;
use crate::signal::Signal;
use crate::signal::os::{self, Delivery, Handlers};
use crate::signal::table::Table;
use crate::supervisor::{Limits, Supervisor};
use crate::task::MainOutput;

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

mod entry;
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
    /// failure or because every task finished.
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

    /// The signals that start a shutdown (default `SIGINT` and `SIGTERM`);
    /// with an empty set, no signal does. Copies of these signals that
    /// arrive within [`Signal::WINDOW`](crate::Signal::WINDOW) of the first
    /// are the same request; one after it forces the exit (see
    /// [`force_on_second_signal`](Self::force_on_second_signal)).
    ///
    /// ```no_run
    /// use graceful::{Runtime, Signal};
    ///
    /// # #[cfg(unix)]
    /// Runtime::new()
    ///     .signals([Signal::Terminate, Signal::Hangup]) // Ctrl-C keeps its default action
    ///     .run(|ctx| async move { /* .. */ });
    /// ```
    pub fn signals(mut self, signals: impl IntoIterator<Item = Signal>) -> Self {
        // Each signal once, wherever it is repeated: two listeners for one
        // signal would turn one delivery into a request and a forced exit.
        self.signals.clear();
        for sig in signals {
            if !self.signals.contains(&sig) {
                self.signals.push(sig);
            }
        }
        self
    }

    /// Whether a second signal during shutdown reports what still runs and
    /// exits at once with 128 + its number (default `true`).
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// let report = Runtime::new()
    ///     .force_on_second_signal(false) // a second signal is one more request, nothing else
    ///     .signals([])
    ///     .block_on(|ctx| async move { ctx.shutdown() });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn force_on_second_signal(mut self, force: bool) -> Self {
        self.force_on_second_signal = force;
        self
    }

    /// The signal that prints the task dump (the scope tree, each task with
    /// where it was defined and spawned and its age, pending hooks, what
    /// the scopes have in flight) on stderr and as a `tracing` event, while
    /// the process goes on: `SIGUSR1` by default on Unix; with `None`,
    /// `SIGUSR1` keeps its default action. At most one dump a second. A
    /// signal that is also a shutdown signal starts the shutdown instead.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use graceful::{Runtime, Signal};
    ///
    /// let report = Runtime::new()
    ///     .dump_signal(Some(Signal::Quit)) // kill -QUIT <pid> (Ctrl-\) prints the task dump
    ///     .signals([])
    ///     .block_on(|ctx| async move { ctx.shutdown() });
    /// assert_eq!(report.exit_code(), 0);
    /// # }
    /// ```
    pub fn dump_signal(mut self, signal: Option<Signal>) -> Self {
        self.dump_signal = signal;
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
}
