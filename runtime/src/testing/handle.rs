//! [`Test`]: what a test's body holds besides its `Context`, to act as the
//! operating system would (signals, time) and to look at the outcome.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::events::{Event, Recorder};
use super::leftover::Leftover;
use crate::console::Secs;
use crate::process::Process;
use crate::report::Report;
use crate::scope::Scope;
use crate::signal::Signal;
use crate::signal::os::{Delivery, Heard};
use crate::sync::lock;

/// The handle a test's body gets with its root [`Context`](crate::Context),
/// from `#[graceful::test]` or [`Runtime::test`](crate::Runtime::test):
/// it sends simulated signals, moves time on, and waits for the
/// [`Report`].
///
/// Cheap to clone, `Send + Sync + 'static`: a task can hold one too.
///
/// ```
/// # #[cfg(unix)] {
/// use graceful::{Reason, Runtime, Signal};
/// use graceful::report::Outcome;
/// use std::time::Duration;
///
/// Runtime::new().timeout(Duration::from_secs(10)).test(|ctx, test| async move {
///     let c = ctx.clone();
///     ctx.spawn("stubborn", async move {
///         c.cancelled().await;
///         std::future::pending::<()>().await // ignores the cancellation
///     });
///     test.signal(Signal::Terminate);
///     let report = test.report().await; // 10 s of virtual time, no real time
///     assert_eq!(report.reason, Reason::Signal(Signal::Terminate));
///     assert_eq!(report.outcome, Outcome::DeadlineExceeded { timeout: Duration::from_secs(10) });
///     assert_eq!(report.still_running[0].who.name, "stubborn");
/// });
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
#[derive(Clone)]
pub struct Test {
    pub(super) state: Arc<TestState>,
}

/// The lifecycle as the test sees it.
pub(super) struct TestState {
    pub(super) deliveries: mpsc::UnboundedSender<Delivery>,
    pub(super) shared: Arc<Process>,
    pub(super) root: Arc<Scope>,
    pub(super) recorder: Arc<Recorder>,
    /// Keeps the lifecycle from ending by itself while the body runs,
    /// until it waits for the report.
    pub(super) hold: Mutex<Option<TaskTrackerToken>>,
    /// The end of the lifecycle, once it came.
    pub(super) ending: watch::Receiver<Option<Arc<Ending>>>,
    /// Whether the body saw the report (then its outcome is the test's to
    /// judge).
    pub(super) examined: AtomicBool,
}

/// How the lifecycle ended: its report, and what was left running or not
/// run at that moment.
pub(super) struct Ending {
    pub(super) report: Report,
    pub(super) leftovers: Vec<Leftover>,
}

impl TestState {
    /// The body no longer keeps the lifecycle from ending by itself.
    pub(super) fn release(&self) {
        lock(&self.hold).take();
    }

    /// Waits for the end of the lifecycle.
    pub(super) async fn ending(&self) -> Arc<Ending> {
        let mut ending = self.ending.clone();
        let ended = ending.wait_for(Option::is_some).await;
        let ended = ended.expect("graceful: the test's supervisor ended without a report");
        ended.clone().expect("waited for an ending")
    }
}

impl Test {
    /// Delivers `signal` to the lifecycle as if the operating system had,
    /// stamped now (in tokio's time): the first shutdown signal starts the
    /// shutdown, a copy within [`Signal::WINDOW`](crate::Signal::WINDOW) is
    /// the same request, a later one forces the exit; the dump signal
    /// prints the task dump; `SIGHUP` runs the reload hooks. The process's
    /// own signal handlers are never touched, so tests run in parallel.
    ///
    /// The supervisor acts on it at its next turn: await something (the
    /// report, [`advance`](Self::advance), `ctx.shutdown_requested()`)
    /// before looking at the effect. Once the lifecycle ended, the signal is
    /// ignored.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use graceful::{Runtime, Signal};
    ///
    /// Runtime::new().test(|ctx, test| async move {
    ///     let c = ctx.clone();
    ///     ctx.spawn("slow", async move {
    ///         c.cancelled().await;
    ///         tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    ///     });
    ///     test.signal(Signal::Interrupt);
    ///     test.advance(Signal::WINDOW * 2).await; // past the window: a second request
    ///     test.signal(Signal::Interrupt);
    ///     assert_eq!(test.report().await.exit_code(), 130); // forced
    /// });
    /// # }
    /// ```
    pub fn signal(&self, signal: Signal) {
        let delivery = Delivery {
            heard: Heard::Signal(signal),
            at: Instant::now(),
        };
        let _ = self.state.deliveries.send(delivery);
    }

    /// The task dump as the dump signal prints it (the scope tree, each
    /// task with where it was defined and spawned and its age, pending
    /// hooks, what the scopes have in flight), returned rather than printed.
    ///
    /// ```
    /// use graceful::Runtime;
    ///
    /// Runtime::new().test(|ctx, test| async move {
    ///     let jobs = ctx.scope("jobs");
    ///     let j = jobs.clone();
    ///     jobs.spawn("resize", async move { j.cancelled().await });
    ///     let dump = test.dump();
    ///     assert!(dump.contains("scope `main/jobs` (running)"), "{dump}");
    ///     assert!(dump.contains("- task `resize`"), "{dump}");
    /// });
    /// ```
    pub fn dump(&self) -> String {
        let state = &self.state;
        let mut dump = format!(
            "graceful: task dump; {:?}, up {}",
            state.shared.state(),
            Secs(state.shared.started.elapsed())
        );
        state.root.dump(&mut dump);
        dump
    }

    /// Waits for the end of the lifecycle and returns its [`Report`]. Ask
    /// for the shutdown first (a signal, `ctx.shutdown()`), unless every
    /// task ends by itself: while the body waits here, it no longer keeps
    /// the lifecycle alive.
    ///
    /// A test that awaited the report judges its outcome itself: a failure
    /// or a deadline it saw does not fail the test. One it did not see
    /// does.
    ///
    /// ```
    /// use graceful::{Reason, Runtime};
    ///
    /// Runtime::new().test(|ctx, test| async move {
    ///     ctx.spawn("fetch", async { Err::<(), _>("connection refused") });
    ///     let report = test.report().await;
    ///     assert_eq!(report.reason, Reason::Failed { task: "fetch".into() });
    ///     assert_eq!(report.failures[0].kind.to_string(), "returned an error: connection refused");
    /// });
    /// ```
    pub fn report(&self) -> impl Future<Output = Report> + Send + 'static {
        let state = self.state.clone();
        state.release();
        async move {
            let ending = state.ending().await;
            state.examined.store(true, Ordering::Release);
            ending.report.clone()
        }
    }

    /// Every task end, hook run and scope drain so far, in order, with
    /// its time: see [`Event`].
    ///
    /// ```
    /// use graceful::Runtime;
    ///
    /// Runtime::new().test(|ctx, test| async move {
    ///     ctx.spawn("flusher", async {});
    ///     ctx.defer("close db", async {});
    ///     ctx.shutdown();
    ///     test.report().await;
    ///     let order: Vec<String> = test.events().iter().map(ToString::to_string).collect();
    ///     assert_eq!(order, [
    ///         "task `flusher` ended in `main` at 0ms",
    ///         "hook `close db` ran in `main` at 0ms",
    ///         "scope `main` drained at 0ms",
    ///     ]);
    /// });
    /// ```
    pub fn events(&self) -> Vec<Event> {
        self.state.recorder.events()
    }

    /// Moves time on by `by`, running everything that comes due on the way
    /// in order, and returns then. Under the paused clock this takes no
    /// real time: tokio jumps from one timer to the next whenever every
    /// task waits (it does so by itself, too, whenever the body waits for
    /// something else). With `start_paused = false`, it sleeps.
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// Runtime::new().test(|_ctx, test| async move {
    ///     test.advance(Duration::from_secs(3600)).await; // at once
    ///     assert_eq!(test.elapsed(), Duration::from_secs(3600));
    /// });
    /// ```
    pub fn advance(&self, by: Duration) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep(by)
    }

    /// The time since the test began, in tokio's time.
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// Runtime::new().test(|_ctx, test| async move {
    ///     tokio::time::sleep(Duration::from_secs(30)).await; // no real time: the clock is paused
    ///     assert_eq!(test.elapsed(), Duration::from_secs(30));
    /// });
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.state.recorder.elapsed()
    }
}

impl fmt::Debug for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Test")
            .field("state", &self.state.shared.state())
            .field("elapsed", &self.elapsed())
            .finish_non_exhaustive()
    }
}
