//! What a context asks and tells of the whole process rather than of its
//! scope: the shutdown ([`Context::shutdown`], its reason, the
//! lifecycle's [`State`], [`Context::shutdown_requested`]).

use tokio_util::sync::WaitForCancellationFuture;

use super::Context;
use crate::process::State;
use crate::report::{ExitCode, Reason};

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

    /// Asks for a graceful shutdown, as [`shutdown`](Self::shutdown) does,
    /// and chooses the exit code of the process once it completes: for a
    /// service manager that reads it, e.g. systemd's
    /// `RestartPreventExitStatus=78` for a configuration that no restart
    /// can fix. The code replaces 0 and 1 (a failure during the drain is
    /// still reported); the deadline's 124 and a forced exit's 128 + n
    /// still win, since the shutdown did not complete. The first code
    /// chosen is kept, whatever began the shutdown.
    ///
    /// ```
    /// use graceful::Runtime;
    /// use graceful::report::ExitCode;
    ///
    /// const BAD_CONFIG: ExitCode = ExitCode::new(78); // EX_CONFIG
    ///
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     ctx.spawn("consumer", {
    ///         let ctx = ctx.clone();
    ///         async move {
    ///             // The broker refuses our credentials: restarting will not help.
    ///             ctx.shutdown_with(BAD_CONFIG);
    ///         }
    ///     });
    /// });
    /// assert_eq!(report.exit_code(), 78);
    /// assert_eq!(report.requested_exit_code, Some(BAD_CONFIG));
    /// ```
    pub fn shutdown_with(&self, code: ExitCode) {
        let shared = self.scope.shared();
        shared.choose_exit_code(code);
        shared.request(Reason::Requested);
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

    /// Where the process is: starting, running (or not ready by its own
    /// say), in its lame duck, or draining. A readiness check answers
    /// "ready" only in [`State::Running`].
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// use graceful::State;
    /// let ready = |ctx: &graceful::Context| ctx.state() == State::Running;
    /// assert!(!ready(&ctx)); // `main`'s body is still setting up
    /// ctx.shutdown();
    /// assert!(!ready(&ctx)); // a readiness probe answers 503 from now on
    /// # });
    /// ```
    // Inlined: a server reads it for every response and connection wake-up.
    #[inline]
    pub fn state(&self) -> State {
        self.scope.shared().state()
    }

    /// Says whether the service takes traffic, while it runs: `false`
    /// makes [`state`](Self::state) [`State::NotReady`] (and a readiness
    /// check such as `graceful::http::ready` answer 503) without stopping
    /// anything; `true` makes it ready again. For a dependency that went
    /// away and came back (Spring Boot's `AvailabilityChangeEvent`). It
    /// does not end the start-up, which ends when `main`'s body returns,
    /// nor the shutdown.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// use graceful::State;
    /// ctx.set_ready(false); // read when the start-up is over
    /// assert_eq!(ctx.state(), State::Starting);
    /// # ctx.shutdown();
    /// # });
    /// ```
    pub fn set_ready(&self, ready: bool) {
        self.scope.shared().set_ready(ready);
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
