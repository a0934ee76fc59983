//! `Context`: the handle every task receives.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::sync::futures::Notified;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::lifecycle::State;
use crate::report::Reason;
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
/// use graceful_runtime::{Context, Runtime};
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

impl Context {
    pub(crate) fn new(scope: Arc<Scope>) -> Context {
        Context { scope }
    }

    /// The one way into spawning: [`spawn`](Self::spawn), the task macro
    /// and the runtime's root task all come through here.
    pub(crate) fn spawn_at<F>(&self, origin: Origin, fut: F) -> TaskHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        self.scope.spawn(origin, fut)
    }

    /// Completes when this scope is cancelled: at shutdown, after the lame
    /// duck and after the child scopes have drained.
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled {
            scope: &self.scope,
            polled: false,
            notified: self.scope.notify.notified(),
        }
    }

    /// Whether this scope has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.scope.is_cancelled()
    }

    /// Runs `fut` until it completes (`Some(output)`) or the scope is
    /// cancelled (`None`, and `fut` is dropped).
    ///
    /// ```
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
    /// ctx.shutdown();
    /// # ctx.cancelled().await;
    /// let never = std::future::pending::<()>();
    /// assert_eq!(ctx.run_until_cancelled(never).await, None);
    /// # });
    /// ```
    pub fn run_until_cancelled<F: Future>(&self, fut: F) -> RunUntilCancelled<'_, F> {
        RunUntilCancelled {
            cancelled: self.cancelled(),
            fut,
        }
    }

    /// Starts `fut` as a task of this scope and returns its handle at once.
    ///
    /// The task is tracked whether or not the handle is kept: at shutdown it
    /// is awaited (after its scope is cancelled), and if it returns `Err` or
    /// panics, the failure is reported and the whole process shuts down.
    /// A task spawned into a scope that is already cancelled still runs (its
    /// context is cancelled from the start) and is awaited.
    ///
    /// Works from any thread, inside the runtime or not.
    ///
    /// ```
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let handle = ctx.spawn("compute", async { Ok::<u32, std::io::Error>(6 * 7) });
    /// assert_eq!(handle.await.unwrap().unwrap(), 42);
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, name: impl Into<Cow<'static, str>>, fut: F) -> TaskHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let origin = Origin::new(name.into(), Location::caller());
        self.spawn_at(origin, fut)
    }

    /// A child scope named `name`. It is drained, and its hooks run, before
    /// this scope's own tasks are cancelled: put what depends on a resource
    /// in a child scope of the one that owns the resource.
    ///
    /// ```
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let http = ctx.scope("http");
    /// assert_eq!(http.path(), "main/http");
    /// # });
    /// ```
    pub fn scope(&self, name: &str) -> Context {
        Context::new(self.scope.child(name))
    }

    /// Registers a teardown hook of this scope: `hook` runs at shutdown after
    /// every task of this scope (and its children) ended. Hooks run last
    /// registered first, each one even if an earlier one failed; a hook that
    /// returns `Err` or panics is reported and makes the exit code 1. The
    /// deadline covers hooks too.
    ///
    /// ```
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
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

    /// Asks for a graceful shutdown of the whole process, as a signal would.
    pub fn shutdown(&self) {
        self.scope.shared().request(Reason::Requested);
    }

    /// Why shutdown began, or `None` while running.
    pub fn reason(&self) -> Option<Reason> {
        self.scope.shared().reason()
    }

    /// Where the process is: running, in its lame duck, or draining. A
    /// readiness check answers "ready" only in [`State::Running`].
    pub fn state(&self) -> State {
        self.scope.shared().state()
    }

    /// Completes as soon as shutdown is requested, before the lame duck:
    /// the moment to stop advertising readiness. Use
    /// [`cancelled`](Self::cancelled) to stop work.
    pub fn shutdown_requested(&self) -> WaitForCancellationFuture<'_> {
        self.scope.shared().requested.cancelled()
    }

    /// The scope's path from the root, such as `main/http`.
    pub fn path(&self) -> &str {
        self.scope.path()
    }

    /// A child of this scope's cancellation token, for code that expects a
    /// plain `CancellationToken`. Cancelling it does not cancel the scope.
    pub fn token(&self) -> CancellationToken {
        self.scope.token().child_token()
    }
}

pin_project_lite::pin_project! {
    /// The future [`Context::cancelled`] returns: completes when the scope is
    /// cancelled. It allocates nothing, and once woken it completes without
    /// taking a lock, so thousands of tasks of one scope stop in parallel.
    ///
    /// ```
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
    /// for n in 0..1_000 {
    ///     let ctx2 = ctx.clone();
    ///     ctx.spawn(format!("idle {n}"), async move {
    ///         ctx2.cancelled().await; // parked until the drain reaches the scope
    ///     });
    /// }
    /// ctx.shutdown();
    /// # });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Cancelled<'a> {
        scope: &'a Scope,
        polled: bool,
        // Created with the future, so a cancellation between its creation
        // and its first poll is not missed.
        #[pin]
        notified: Notified<'a>,
    }
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let this = self.project();
        // Already cancelled: done without queueing. Once queued, only the
        // wake-up completes it, which takes no lock (dropping a queued
        // `Notified` would).
        if !*this.polled {
            *this.polled = true;
            if this.scope.is_cancelled() {
                return Poll::Ready(());
            }
        }
        this.notified.poll(cx)
    }
}

pin_project_lite::pin_project! {
    /// The future [`Context::run_until_cancelled`] returns: `Some(output)` if
    /// `fut` completes first, `None` once the scope is cancelled (`fut` is
    /// then dropped). Cancellation is checked first at every poll.
    ///
    /// ```
    /// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
    /// assert_eq!(ctx.run_until_cancelled(async { 42 }).await, Some(42));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct RunUntilCancelled<'a, F> {
        #[pin]
        cancelled: Cancelled<'a>,
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for RunUntilCancelled<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // Cancellation first: a scope being drained stops taking new work.
        if this.cancelled.poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        this.fut.poll(cx).map(Some)
    }
}

impl<F> fmt::Debug for RunUntilCancelled<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilCancelled")
            .field("scope", &self.cancelled.scope.path())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Cancelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled")
            .field("scope", &self.scope.path())
            .finish_non_exhaustive()
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    fn run_until_cancelled_size<F>(_: &F) -> usize {
        size_of::<RunUntilCancelled<'static, F>>()
    }

    /// `run_until_cancelled` holds its future once, next to the wait.
    #[test]
    fn run_until_cancelled_stores_the_future_once() {
        let fut = async {
            let buf = [7u8; 512];
            tokio::task::yield_now().await;
            buf.len()
        };
        assert!(
            run_until_cancelled_size(&fut) <= size_of_val(&fut) + size_of::<Cancelled<'_>>(),
            "{} > {} + {}",
            run_until_cancelled_size(&fut),
            size_of_val(&fut),
            size_of::<Cancelled<'_>>()
        );
    }
}
