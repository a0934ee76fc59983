//! The lifecycle under test (feature `test-util`): [`Runtime::test`], which
//! `#[graceful::test]` calls, runs a test's body as `main` runs, with the
//! root [`Context`] and a [`Test`] handle, under a current-thread runtime
//! whose clock starts paused.
//!
//! - No signal handler is installed: the supervisor hears only what
//!   [`Test::signal`] delivers, stamped in tokio's time, so the signal
//!   window works under the paused clock and tests run in parallel.
//! - The body is not a task: it keeps the lifecycle from ending by itself
//!   (as `main` does) until it returns or waits for the report, but no
//!   drain waits for it, so it can watch the drain and await the report
//!   from the outside.
//! - When the body returns, a lifecycle still running is shut down (as
//!   [`Context::shutdown`] would) and awaited. The test then fails if the
//!   shutdown was not clean and the body did not look at the report, or if
//!   a task or hook outlived the lifecycle that the report did not name.
//! - Every task end, hook run and scope drain is recorded for
//!   [`Test::events`]. Outside tests nothing records: the feature adds one
//!   check of an empty `Option` to each task's end, and without the feature
//!   nothing at all.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::context::Context;
use crate::failure::Error;
use crate::notify::Notifier;
use crate::panic::remember_panic_locations;
use crate::process::Process;
use crate::report::Reason;
use crate::runtime::{Flavor, Runtime};
use crate::scope::Scope;
use crate::task::TaskOutput;

mod events;
mod handle;
mod leftover;

pub(crate) use events::Recorder;
pub use events::{Event, EventKind};
pub use handle::Test;
use handle::{Ending, TestState};
use leftover::Leftover;

#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
impl Runtime {
    /// Whether [`test`](Self::test) starts tokio's clock paused (default
    /// `true`): time then moves only when every task waits, straight to the
    /// next timer, so a 30 s drain takes no real time. A paused clock needs
    /// the current-thread flavor, a test's default.
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// Runtime::new().start_paused(false).test(|_ctx, test| async move {
    ///     test.advance(Duration::from_millis(5)).await; // sleeps for real
    ///     assert!(test.elapsed() >= Duration::from_millis(5));
    /// });
    /// ```
    pub fn start_paused(mut self, paused: bool) -> Self {
        self.start_paused = paused;
        self
    }

    /// Runs `body` as a test of the lifecycle and fails (panics) if the
    /// lifecycle did not end well: everything `#[graceful::test]` does.
    ///
    /// `body` gets the root [`Context`] and a [`Test`] handle, on a new
    /// current-thread runtime (unless [`flavor`](Self::flavor) says
    /// otherwise) whose clock starts paused (unless
    /// [`start_paused(false)`](Self::start_paused)). The configured
    /// signals, deadline and lame duck apply, but no signal handler is
    /// installed: signals come from [`Test::signal`].
    ///
    /// When the body returns, a lifecycle still running is shut down (as a
    /// request) and awaited. The test then fails, with the report's text,
    /// if the body returned `Err`, or if the shutdown was not clean (a
    /// failure, the deadline, a forced exit) and the body did not await
    /// [`Test::report`]; and, naming each, if a task is still running or a
    /// hook never ran that the report (if awaited) did not leave behind. A
    /// panic of the body fails the test as it is.
    ///
    /// ```
    /// use graceful::{Reason, Runtime};
    /// use std::time::Duration;
    ///
    /// Runtime::new().timeout(Duration::from_secs(30)).test(|ctx, test| async move {
    ///     let c = ctx.clone();
    ///     ctx.spawn("flusher", async move {
    ///         c.cancelled().await;
    ///         tokio::time::sleep(Duration::from_secs(20)).await; // virtual seconds
    ///     });
    ///     ctx.shutdown();
    ///     let report = test.report().await;
    ///     assert_eq!(report.reason, Reason::Requested);
    ///     assert_eq!(report.shutdown_took, Duration::from_secs(20));
    /// });
    /// ```
    ///
    /// Panics if the runtime cannot be built, or if the clock is paused
    /// under [`Flavor::MultiThread`].
    #[track_caller]
    pub fn test<F, Fut>(self, body: F)
    where
        F: FnOnce(Context, Test) -> Fut,
        Fut: Future,
        Fut::Output: TaskOutput<Value = ()>,
    {
        if self.start_paused && self.flavor == Some(Flavor::MultiThread) {
            panic!(
                "graceful: a paused clock needs the current-thread flavor: call `.start_paused(false)` or leave the flavor out"
            );
        }
        let mut builder = self.tokio(Flavor::CurrentThread);
        builder.start_paused(self.start_paused);
        let rt = match builder.build() {
            Ok(rt) => rt,
            Err(e) => panic!("graceful: cannot build the test's runtime: {e}"),
        };
        let verdict = std::panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(run(self, body))));
        // Abandon what still runs (stuck tasks, blocking threads).
        rt.shutdown_background();
        match verdict {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => panic!("{failure}"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Runs the lifecycle with `body` as its driver; the failure of the test,
/// if any.
async fn run<F, Fut>(rt: Runtime, body: F) -> Result<(), String>
where
    F: FnOnce(Context, Test) -> Fut,
    Fut: Future,
    Fut::Output: TaskOutput<Value = ()>,
{
    remember_panic_locations();
    let recorder = Arc::new(Recorder::new());
    let handle = tokio::runtime::Handle::current();
    let mut shared = Process::new(!rt.lame_duck.is_zero(), handle, None, Notifier::off());
    shared.observer = Some(recorder.clone());
    if rt.start_paused {
        shared.clock = Clock::tokio();
    }
    // The body is the test, not `main`'s start-up: running from the start.
    shared.started();
    let shared = Arc::new(shared);
    let root = Scope::root(shared.clone(), "main");
    let (deliveries, heard) = mpsc::unbounded_channel();
    let held = TaskTracker::new();
    held.close();
    let hold = Mutex::new(Some(held.token()));
    #[cfg(all(unix, feature = "upgrade"))]
    let rt = rt.upgrade_signal(None); // a test never starts a new process
    let supervisor = rt.supervisor(shared.clone(), root.clone(), heard);
    let supervisor = supervisor.held_by(held);
    let (ended, ending) = watch::channel(None);
    let r = root.clone();
    tokio::spawn(async move {
        let report = supervisor.run().await;
        let leftovers = Leftover::of(&r);
        let _ = ended.send(Some(Arc::new(Ending { report, leftovers })));
    });

    let state = Arc::new(TestState {
        deliveries,
        shared: shared.clone(),
        root: root.clone(),
        recorder,
        hold,
        ending,
        examined: AtomicBool::new(false),
    });
    let test = Test {
        state: state.clone(),
    };
    let error = body(Context::new(root.clone()), test)
        .await
        .into_result()
        .err();
    state.release();
    if shared.triggered().is_none() {
        shared.request(Reason::Requested);
    }
    let ending = state.ending().await;
    let examined = state.examined.load(Ordering::Acquire);
    verdict(error, &ending, examined, Leftover::of(&root))
}

/// Whether the test passed: the body's error, the report unless the body
/// examined it, and what was left behind that the report did not name.
fn verdict(
    error: Option<Error>,
    ending: &Ending,
    examined: bool,
    mut left: Vec<Leftover>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    if let Some(error) = error {
        problems.push(format!("graceful: the test returned an error: {error:#}"));
    }
    let report = &ending.report;
    if examined {
        // What the report left behind, the test saw and accepted.
        for expected in &ending.leftovers {
            if let Some(i) = left.iter().position(|l| l == expected) {
                left.remove(i);
            }
        }
    } else if report.exit_code() != 0 {
        problems.push(format!(
            "graceful: the shutdown did not end cleanly (exit code {}), and the test did not await `test.report()` to expect it:\n{report}",
            report.exit_code()
        ));
    }
    problems.extend(left.iter().map(Leftover::to_string));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
