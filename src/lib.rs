//! Graceful shutdown for tokio services, in two lines.
//!
//! Annotate `main` with [`#[graceful::main]`](main) and long-running async
//! functions with [`#[graceful::task]`](task). The runtime installs the
//! signal handlers before your code runs, hands every task a cancellation
//! [`Context`], stops new work on `SIGINT`/`SIGTERM`, drains what is in
//! flight scope by scope, runs teardown hooks in reverse order, enforces one
//! deadline and names whatever was stuck.
//!
//! Everything is also available without macros through [`Runtime`]:
//!
//! ```
//! use graceful::{Context, Runtime};
//! use std::time::Duration;
//!
//! let report = Runtime::new().signals([]).block_on(|ctx: Context| async move {
//!     let worker = ctx.clone();
//!     ctx.spawn("worker", async move {
//!         worker.cancelled().await;
//!         println!("worker stopped");
//!     });
//!     ctx.defer("close", async { println!("closed after the worker") });
//!     ctx.shutdown();
//! });
//! assert_eq!(report.exit_code(), 0);
//! ```
//!
//! # Testing the shutdown
//!
//! With the `test-util` feature (enable it in `[dev-dependencies]`),
//! `#[graceful::test]` runs a test's body as `main` runs, under tokio's
//! paused clock (a 30 s drain takes no real time), with simulated signals
//! that never touch the process's own handlers. The body can await the
//! [`Report`] and assert on it, and on the order of the drain; the test
//! fails if the shutdown was not clean and the body did not look, or if a
//! task outlived it or a hook never ran.
//!
//! ```
//! # #[cfg(unix)] mod unix {
//! use graceful::{Context, Signal, Test};
//! use graceful::report::Outcome;
//! use std::time::Duration;
//!
//! #[graceful::test(timeout = "10s")]
//! async fn a_stuck_task_is_named_at_the_deadline(ctx: Context, test: Test) {
//!     ctx.spawn("stubborn", std::future::pending::<()>());
//!     test.signal(Signal::Terminate);
//!     let report = test.report().await; // 10 virtual seconds later
//!     assert_eq!(report.outcome, Outcome::DeadlineExceeded { timeout: Duration::from_secs(10) });
//!     assert_eq!(report.still_running[0].who.name, "stubborn");
//! }
//! # }
//! ```
//!
//! # Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | every task and hook finished without failure (also after a signal) |
//! | 1 | a task, `main` or a hook returned `Err` or panicked, or the configuration is invalid |
//! | 124 | the shutdown deadline passed; the report names what was still running |
//! | 128 + n | a second signal n forced the exit (130 for `SIGINT`, 143 for `SIGTERM`) |
//!
//! # Costs
//!
//! What the bookkeeping costs, per task, against writing
//! `tokio::spawn` + `TaskTracker` + a clone of one `CancellationToken` by
//! hand:
//!
//! - **Spawning** takes the scope's registry lock once (no allocation
//!   besides tokio's own task), reads a coarse clock for the task's age in
//!   the task dump (on Linux `CLOCK_MONOTONIC_COARSE`, no hardware clock
//!   read) and counts the task in the scope's `TaskTracker`. A task adds
//!   three words to its future and 12 bytes to its scope's registry (an
//!   index and a start time); its name, spawn site and definition site are
//!   stored once per place in the code that spawns it (once per task when
//!   the name is an owned `String`). No child token is created.
//! - **Waiting** with [`Context::cancelled`] allocates nothing. It joins
//!   the scope's wait list at its first poll, and the wake-up completes it
//!   without a lock.
//! - **Ending** takes no lock: the task marks its own slot of the registry
//!   ended (a later spawn takes the slot again), and writes to the
//!   tracker. Panics are caught on the way (no cost unless one happens).
//! - **Cancelling a scope** wakes all its waiters at once. Detecting that
//!   every task ended by itself costs the tasks nothing; the supervisor
//!   walks the scope tree when a scope it waits on becomes empty.
//! - [`Context::clone`] is one reference count.
//!
//! Measured (`BENCHMARKS.md` in the repository, reproduced by `bench/run`):
//! spawn + join at 1.06-1.3x the shared-token floor (the registry's cost,
//! which grows on a busy host; 1.06-1.11x in instructions), cancel + join of
//! 100 000 idle tasks at 0.85-1.06x and of 10 000 at 0.9-1.3x (1.06x in
//! instructions), and 276 bytes of heap per idle task against the floor's
//! 256.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(
    missing_docs,
    unreachable_pub,
    clippy::print_stdout,
    clippy::print_stderr
)]

#[doc(inline)]
pub use gracefully_macros::{main, task};

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
#[doc(inline)]
pub use gracefully_macros::test;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
#[doc(inline)]
pub use gracefully_runtime::{Event, EventKind, Test};

#[doc(inline)]
pub use gracefully_runtime::{
    Abort, Cancelled, ConfigError, Context, Flavor, Isolate, Policy, Reason, Report, Restart,
    RunUntilCancelled, Runtime, Signal, State, TaskError, TaskHandle, TaskOutput, UnknownSignal,
    bounds, env, report,
};

#[cfg(all(unix, feature = "upgrade"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "upgrade"))))]
#[doc(inline)]
pub use gracefully_runtime::sockets;

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[doc(inline)]
pub use graceful_http as http;

/// What code generated by the macros calls. Not a public API: it may change
/// in any release.
#[doc(hidden)]
pub mod __private {
    pub use gracefully_runtime::__private::*;
}

/// The README's programs, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
