//! The hub of one runtime's process: where it is in its lifecycle
//! ([`State`]), why the shutdown began, every failure and restart so far,
//! and what every scope reaches (the tokio handle, the signal handlers, the
//! reload hooks, the systemd notifier, the observer). One [`Process`] per
//! runtime, reached by every scope; it alone writes the state.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::failure::{Failure, Restarted};
use crate::notify::Notifier;
use crate::observe::Observer;
use crate::reload::Reloads;
use crate::report::{ExitCode, Reason};
use crate::signal::os::Handlers;
use crate::sync::lock;

/// Where the process is in its lifecycle, for readiness checks: ready
/// only while [`Running`](State::Running).
///
/// ```
/// use graceful::{Runtime, State};
/// Runtime::new().signals([]).block_on(|ctx| async move {
///     assert_eq!(ctx.state(), State::Starting); // `main`'s body is the start-up
///     let c = ctx.clone();
///     ctx.spawn("server", async move {
///         tokio::task::yield_now().await; // `main` returned meanwhile
///         assert_eq!(c.state(), State::Running);
///         c.set_ready(false); // a dependency is down: take no traffic
///         assert_eq!(c.state(), State::NotReady);
///         c.set_ready(true);
///         c.shutdown();
///         assert_eq!(c.state(), State::Draining); // not ready from now on
///     });
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// `main`'s body has not returned yet: the service is still setting
    /// itself up (a cache to fill, a migration). Not ready.
    Starting,
    /// Serving normally: ready.
    Running,
    /// Running, but the program said it takes no traffic for now
    /// ([`Context::set_ready`](crate::Context::set_ready)). Not ready;
    /// nothing stops.
    NotReady,
    /// Shutdown was requested; nothing is cancelled yet so load balancers can
    /// stop sending traffic. Not ready.
    LameDuck,
    /// Scopes are being cancelled and drained, and hooks run. Not ready.
    Draining,
}

impl State {
    /// Whether the shutdown began: in the lame duck or draining.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// assert!(!ctx.state().is_shutting_down()); // starting
    /// ctx.shutdown();
    /// assert!(ctx.state().is_shutting_down());
    /// # });
    /// ```
    #[inline]
    pub fn is_shutting_down(self) -> bool {
        matches!(self, State::LameDuck | State::Draining)
    }

    #[inline]
    fn from_u8(v: u8) -> State {
        match v {
            v if v == State::Starting as u8 => State::Starting,
            v if v == State::Running as u8 => State::Running,
            v if v == State::LameDuck as u8 => State::LameDuck,
            _ => State::Draining,
        }
    }
}

/// What every scope of one runtime shares.
pub(crate) struct Process {
    /// Cancelled when shutdown is requested (signal, `shutdown()`, failure).
    pub(crate) requested: CancellationToken,
    /// Cancelled at the first failure, to cut a lame duck short.
    pub(crate) failed: CancellationToken,
    reason: OnceLock<(Reason, Instant)>,
    /// The exit code the program chose, the first time it chose one.
    exit_code: OnceLock<ExitCode>,
    state: AtomicU8,
    /// Set by `Context::set_ready(false)`: `Running` reads as `NotReady`.
    not_ready: AtomicBool,
    /// Counts spawns, so that a search for running tasks across the scopes
    /// can tell whether a task was started while it looked.
    spawns: Epoch,
    failures: Mutex<Vec<Failure>>,
    isolated: Mutex<Isolated>,
    restarts: Mutex<Vec<Restarted>>,
    /// Whether a request should pass through the lame duck first.
    lame_duck: bool,
    /// The runtime tasks are spawned on, so a `Context` works from any thread.
    pub(crate) handle: tokio::runtime::Handle,
    /// The signal handlers, to hear more signals later (`SIGHUP` once a
    /// reload hook exists); `None` where nothing listens.
    pub(crate) handlers: Option<Arc<Handlers>>,
    pub(crate) reloads: Reloads,
    /// When the runtime started, for the task dump.
    pub(crate) started: Instant,
    /// systemd notifications (nothing without `NOTIFY_SOCKET`).
    pub(crate) notifier: Notifier,
    /// Told of every task's end, hook's run and scope's drain; the test
    /// runtime installs one, production none.
    pub(crate) observer: Option<Arc<dyn Observer>>,
    /// What tasks' ages are read from (a paused test's: tokio's).
    pub(crate) clock: Clock,
    /// Cancelled once `main`'s body returned without failure: the service
    /// is set up (the moment systemd hears `READY=1`).
    pub(crate) main_returned: CancellationToken,
    /// This runtime's state of the binary upgrade (`crate::upgrade`: its
    /// offers, the upgrader), put here by that room when the lifecycle is
    /// prepared. Opaque here: the hub sits below the room that defines it,
    /// and only that room reads it.
    #[cfg(all(unix, feature = "upgrade"))]
    pub(crate) handover: OnceLock<Arc<dyn std::any::Any + Send + Sync>>,
}

/// How many isolated failures the report lists; the rest are counted.
const KEPT_ISOLATED: usize = 20;

#[derive(Default)]
struct Isolated {
    count: u64,
    recent: VecDeque<Failure>,
}

/// A counter on a cache line of its own: spawns bump it, task exits never
/// touch it.
#[derive(Default)]
#[repr(align(64))]
struct Epoch(AtomicU64);

impl Process {
    /// The state of a new lifecycle, on `handle`'s runtime; `notifier` was
    /// read from the environment before the runtime's first thread.
    pub(crate) fn new(
        lame_duck: bool,
        handle: tokio::runtime::Handle,
        handlers: Option<Arc<Handlers>>,
        notifier: Notifier,
    ) -> Process {
        Process {
            requested: CancellationToken::new(),
            failed: CancellationToken::new(),
            reason: OnceLock::new(),
            exit_code: OnceLock::new(),
            state: AtomicU8::new(State::Starting as u8),
            not_ready: AtomicBool::new(false),
            spawns: Epoch::default(),
            failures: Mutex::new(Vec::new()),
            isolated: Mutex::default(),
            restarts: Mutex::default(),
            lame_duck,
            handle,
            handlers,
            reloads: Reloads::default(),
            started: Instant::now(),
            notifier,
            observer: None,
            clock: Clock::system(),
            main_returned: CancellationToken::new(),
            #[cfg(all(unix, feature = "upgrade"))]
            handover: OnceLock::new(),
        }
    }

    /// Starts the shutdown; the first reason wins, later ones are ignored.
    /// The state becomes [`State::LameDuck`] if a lame duck is configured and
    /// the reason allows one, [`State::Draining`] otherwise.
    pub(crate) fn request(&self, reason: Reason) {
        let lame = self.lame_duck && reason.allows_lame_duck();
        if self.reason.set((reason, Instant::now())).is_ok() {
            let state = if lame {
                State::LameDuck
            } else {
                State::Draining
            };
            self.state.store(state as u8, Ordering::Release);
            self.requested.cancel();
        }
    }

    /// The lame duck is over (or there was none): the drain begins.
    pub(crate) fn begin_drain(&self) {
        self.state.store(State::Draining as u8, Ordering::Release);
    }

    /// `main`'s body returned: the start-up is over (unless a shutdown
    /// began meanwhile).
    pub(crate) fn started(&self) {
        let (starting, running) = (State::Starting as u8, State::Running as u8);
        let _ = self
            .state
            .compare_exchange(starting, running, Ordering::AcqRel, Ordering::Acquire);
    }

    pub(crate) fn set_ready(&self, ready: bool) {
        self.not_ready.store(!ready, Ordering::Release);
    }

    #[inline]
    pub(crate) fn state(&self) -> State {
        match State::from_u8(self.state.load(Ordering::Acquire)) {
            State::Running if self.not_ready.load(Ordering::Acquire) => State::NotReady,
            state => state,
        }
    }

    pub(crate) fn reason(&self) -> Option<Reason> {
        self.reason.get().map(|(r, _)| r.clone())
    }

    /// Why and when the shutdown began, once it has.
    /// Keeps the exit code the program chose, unless it chose one before.
    pub(crate) fn choose_exit_code(&self, code: ExitCode) {
        let _ = self.exit_code.set(code);
    }

    pub(crate) fn chosen_exit_code(&self) -> Option<ExitCode> {
        self.exit_code.get().copied()
    }

    pub(crate) fn triggered(&self) -> Option<(Reason, Instant)> {
        self.reason.get().cloned()
    }

    /// Keeps a failure for the report and starts the shutdown (errgroup).
    pub(crate) fn fail(&self, failure: Failure) {
        tracing::error!(
            task = %failure.who.name,
            scope = %failure.who.scope,
            error = %failure.kind,
            "task failed"
        );
        let task = failure.who.name.clone();
        lock(&self.failures).push(failure);
        self.failed.cancel();
        self.request(Reason::Failed { task });
    }

    /// Keeps a failure that does not stop the process: counted, and the
    /// most recent ones kept for the report.
    pub(crate) fn isolated(&self, failure: Failure) {
        tracing::warn!(
            task = %failure.who.name,
            scope = %failure.who.scope,
            spawned_at = %failure.who.spawned_at,
            error = %failure.kind,
            "isolated task failed; the process goes on"
        );
        let mut isolated = lock(&self.isolated);
        isolated.count += 1;
        if isolated.recent.len() == KEPT_ISOLATED {
            isolated.recent.pop_front();
        }
        isolated.recent.push_back(failure);
    }

    /// Records a restart of the task recorded at `index` (a new record if
    /// `None`); returns its index.
    pub(crate) fn restarted(&self, index: Option<usize>, record: Restarted) -> usize {
        let mut restarts = lock(&self.restarts);
        match index {
            Some(i) => {
                restarts[i] = record;
                i
            }
            None => {
                restarts.push(record);
                restarts.len() - 1
            }
        }
    }

    /// Every critical failure so far, in order.
    pub(crate) fn failures(&self) -> Vec<Failure> {
        lock(&self.failures).clone()
    }

    /// How many isolated failures there were, and the most recent ones.
    pub(crate) fn isolated_failures(&self) -> (u64, Vec<Failure>) {
        let isolated = lock(&self.isolated);
        (isolated.count, isolated.recent.iter().cloned().collect())
    }

    /// Every task that was restarted.
    pub(crate) fn restarts(&self) -> Vec<Restarted> {
        lock(&self.restarts).clone()
    }

    /// Counts a spawn; called after the scope's tracker counts the task.
    pub(crate) fn count_spawn(&self) {
        self.spawns.0.fetch_add(1, Ordering::SeqCst);
    }

    /// How many tasks were spawned so far.
    pub(crate) fn spawned(&self) -> u64 {
        self.spawns.0.load(Ordering::SeqCst)
    }
}
