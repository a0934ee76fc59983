//! The futures that wait for a scope's cancellation: [`Cancelled`] and
//! [`RunUntilCancelled`], written out so that waiting allocates nothing and
//! a wake-up takes no lock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use tokio::sync::futures::Notified;

use crate::scope::Scope;

impl<'a> Cancelled<'a> {
    pub(crate) fn new(scope: &'a Scope) -> Self {
        Cancelled {
            scope,
            polled: false,
            notified: scope.notify.notified(),
        }
    }
}

impl<'a, F> RunUntilCancelled<'a, F> {
    pub(crate) fn new(scope: &'a Scope, fut: F) -> Self {
        RunUntilCancelled {
            cancelled: Cancelled::new(scope),
            fut,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future [`Context::cancelled`] returns: completes when the scope is
    /// cancelled. It allocates nothing, and once woken it completes without
    /// taking a lock, so thousands of tasks of one scope stop in parallel.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
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
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
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
