//! What a context asks and tells of the whole process rather than of its
//! scope: the shutdown ([`Context::shutdown`], its reason, the
//! lifecycle's [`State`], [`Context::shutdown_requested`]).

use tokio_util::sync::WaitForCancellationFuture;

use super::Context;
use crate::process::State;
use crate::report::Reason;

impl Context {
    /// Asks for a graceful shutdown of the whole process, as a signal would.
    ///
    /// ```
    /// use graceful::{Reason, Runtime};
    ///
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     ctx.shutdown(); // from an admin endpoint, say
    /// });
    /// assert_eq!(report.reason, Reason::Requested);
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn shutdown(&self) {
        self.scope.shared().request(Reason::Requested);
    }

    /// Why shutdown began, or `None` while running.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// use graceful::Reason;
    /// assert_eq!(ctx.reason(), None);
    /// ctx.shutdown();
    /// assert_eq!(ctx.reason(), Some(Reason::Requested));
    /// # });
    /// ```
    pub fn reason(&self) -> Option<Reason> {
        self.scope.shared().reason()
    }

    /// Where the process is: running, in its lame duck, or draining. A
    /// readiness check answers "ready" only in [`State::Running`].
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// use graceful::State;
    /// let ready = |ctx: &graceful::Context| ctx.state() == State::Running;
    /// assert!(ready(&ctx));
    /// ctx.shutdown();
    /// assert!(!ready(&ctx)); // a readiness probe answers 503 from now on
    /// # });
    /// ```
    // Inlined: a server reads it for every response and connection wake-up.
    #[inline]
    pub fn state(&self) -> State {
        self.scope.shared().state()
    }

    /// Completes as soon as shutdown is requested, before the lame duck:
    /// the moment to stop advertising readiness. Use
    /// [`cancelled`](Self::cancelled) to stop work.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// let ready = Arc::new(AtomicBool::new(true));
    /// let (watcher, flag) = (ctx.clone(), ready.clone());
    /// ctx.spawn("readiness", async move {
    ///     watcher.shutdown_requested().await; // before the lame duck, if any
    ///     flag.store(false, Ordering::SeqCst); // the load balancer stops sending traffic
    /// });
    /// ctx.shutdown();
    /// # });
    /// ```
    pub fn shutdown_requested(&self) -> WaitForCancellationFuture<'_> {
        self.scope.shared().requested.cancelled()
    }
}
