//! Work run in place, isolated: [`Context::isolate`] catches the panic of a
//! future that its caller polls (a server's request handler), reports it as
//! an isolated failure, and hands it back as a value to answer with.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::task::{Poll, ready};

use futures_util::FutureExt as _;
use futures_util::future::CatchUnwind;

use super::Context;
use crate::failure::{Failure, FailureKind, Subject};
use crate::panic::Panic;

impl Context {
    /// Runs `fut` in place, in the task that polls it (not as a task of its
    /// own), with its panic caught: the panic is reported as an isolated
    /// failure of this scope (a `tracing` event, and in the final report
    /// with its message and location; the process goes on) and the future
    /// yields it as `Err`, for the caller to answer with. What `fut`
    /// returns comes back as `Ok`, as it is: an `Err` it returns is the
    /// caller's to handle, not a failure.
    ///
    /// `name` says what failed, in the report; it is made into text only
    /// if `fut` panics, so it can be a value that formats itself (a
    /// request's method and path) rather than a `String` built each time.
    /// The report gives where `isolate` was called as the place it was
    /// started.
    ///
    /// This is how [`graceful::http`](https://docs.rs/gracefully) runs a
    /// request's handler: a handler that panics is answered `500`, and
    /// counted. Like a spawned task's, `fut` is taken to be unwind safe:
    /// after a panic it is dropped, and what it shared with others (behind
    /// a `Mutex`, which the panic poisons) is for them to check.
    ///
    /// It costs a reference count of the context, and an unwind guard on
    /// each poll (no work unless it panics).
    ///
    /// ```
    /// use graceful::Runtime;
    /// use graceful::report::FailureKind;
    ///
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     let parsed = ctx.isolate("parse upload", async { "12".parse::<u32>() }).await;
    ///     assert_eq!(parsed.unwrap(), Ok(12)); // no panic: the future's own output
    ///
    ///     let bug = ctx.isolate("parse upload", async { panic!("unexpected token") }).await;
    ///     let panic: graceful::report::Panic = bug.unwrap_err();
    ///     assert_eq!(panic.message, "unexpected token");
    ///     assert_eq!(ctx.reason(), None); // still running
    ///     ctx.shutdown();
    /// });
    /// assert_eq!(report.exit_code(), 0);
    /// assert_eq!(report.isolated_failures, 1);
    /// assert_eq!(report.isolated[0].who.name, "parse upload");
    /// let FailureKind::Panic(panic) = &report.isolated[0].kind else { unreachable!() };
    /// assert!(panic.location.as_deref().is_some_and(|at| at.contains(".rs:")));
    /// ```
    #[track_caller]
    pub fn isolate<F, N>(&self, name: N, fut: F) -> Isolate<F, N>
    where
        F: Future,
        N: fmt::Display,
    {
        Isolate {
            fut: AssertUnwindSafe(fut).catch_unwind(),
            ctx: self.clone(),
            name,
            at: Location::caller(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Context::isolate`]: what the work returned, or its
    /// panic, already reported.
    #[must_use = "futures do nothing unless polled"]
    pub struct Isolate<F, N> {
        #[pin]
        fut: CatchUnwind<AssertUnwindSafe<F>>,
        ctx: Context,
        name: N,
        at: &'static Location<'static>,
    }
}

impl<F: Future, N: fmt::Display> Future for Isolate<F, N> {
    type Output = Result<F::Output, Panic>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(match ready!(this.fut.poll(cx)) {
            Ok(output) => Ok(output),
            Err(payload) => {
                // Right after the unwind stopped, on the thread that
                // panicked, where the panic hook left its location.
                let panic = Panic::caught(payload);
                let who = Subject {
                    name: this.name.to_string(),
                    scope: this.ctx.path().to_owned(),
                    spawned_at: this.at.to_string(),
                    defined_at: None,
                    hook: false,
                };
                let failure = Failure {
                    who,
                    kind: FailureKind::Panic(panic.clone()),
                };
                this.ctx.scope.shared().isolated(failure);
                Err(panic)
            }
        })
    }
}

impl<F, N: fmt::Display> fmt::Debug for Isolate<F, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Isolate")
            .field("name", &format_args!("{}", self.name))
            .field("scope", &self.ctx.path())
            .finish_non_exhaustive()
    }
}
