//! The entry points: [`Runtime::run`] (print the report, exit with its
//! code), [`Runtime::block_on`] (return the report) and
//! [`Runtime::supervise`] (a lifecycle in a tokio runtime the caller runs).
//! Each starts as `start.rs` says: the handlers first, then tokio.

use super::*;

impl Runtime {
    /// Runs `main` as the root task of a new tokio runtime, supervises it
    /// until the process should exit, prints the final report on stderr and
    /// exits with its code. Environment overrides are applied first; a bad
    /// one is reported and the process exits with code 1.
    ///
    /// At the deadline or a forced exit, nothing more is awaited: blocking
    /// threads and stuck tasks are abandoned by the exit.
    ///
    /// ```no_run
    /// use graceful::Runtime;
    ///
    /// fn main() {
    ///     Runtime::new().run(|ctx| async move {
    ///         ctx.spawn("server", async { /* .. */ });
    ///         Ok::<(), std::io::Error>(())
    ///     }) // never returns: exits with the report's code
    /// }
    /// ```
    #[track_caller]
    pub fn run<F, Fut>(self, main: F) -> !
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: MainOutput,
    {
        // The handlers first: a signal from now on is honoured.
        let listening = self.listen();
        // Kept until the process exits, never removed: removing them (a
        // reading thread to stop per signal) only delays the exit, and a
        // signal that came meanwhile would find its default action.
        let _handlers = listening
            .as_ref()
            .ok()
            .map(|(handlers, _)| handlers.clone());
        let main = RootTask::new(main, Location::caller());
        let code = match self
            .env_overrides()
            .and_then(|rt| rt.try_block_on(main, listening?))
        {
            Ok(report) => {
                if report.worth_printing() {
                    console(format_args!("{report}"));
                }
                report.exit_code()
            }
            Err(e) => {
                console(format_args!("graceful: {e}"));
                1
            }
        };
        std::process::exit(code)
    }

    /// Like [`run`](Self::run) but returns the [`Report`] instead of printing
    /// it and exiting, and ignores the environment. Panics if the tokio
    /// runtime or a signal handler cannot be set up.
    ///
    /// What `run` writes to stderr *while* the shutdown runs, `block_on`
    /// writes too, as it happens: the notice that it began
    /// (`graceful: shutdown requested, shutting down (deadline 30.00s)`),
    /// the progress lines of a slow drain, a reload hook's failure. Those
    /// are for whoever watches the process, and a report returned after a
    /// stuck drain would come too late for them. Only the final report is
    /// left to the caller.
    ///
    /// ```
    /// use graceful::Runtime;
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     ctx.spawn("fails", async { Err::<(), _>("no database") });
    /// });
    /// assert_eq!(report.exit_code(), 1);
    /// assert_eq!(report.failures[0].who.name, "fails");
    /// ```
    #[track_caller]
    pub fn block_on<F, Fut>(self, main: F) -> Report
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: MainOutput,
    {
        let listening = self.listen();
        let main = RootTask::new(main, Location::caller());
        match listening.and_then(|listening| self.try_block_on(main, listening)) {
            Ok(report) => report,
            Err(e) => panic!("graceful: {e}"),
        }
    }

    /// Supervises `main` inside an already running tokio runtime and returns
    /// the [`Report`] when the lifecycle ends. At the deadline or a forced
    /// exit it returns at once; stuck tasks keep running in that runtime.
    /// Panics if a signal handler cannot be installed.
    ///
    /// ```
    /// use graceful::Runtime;
    ///
    /// #[tokio::main(flavor = "current_thread")]
    /// async fn main() {
    ///     let report = Runtime::new()
    ///         .signals([])
    ///         .supervise(|ctx| async move { ctx.shutdown() })
    ///         .await;
    ///     assert_eq!(report.exit_code(), 0);
    /// }
    /// ```
    #[track_caller]
    pub fn supervise<F, Fut>(self, main: F) -> impl Future<Output = Report>
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: MainOutput,
    {
        let at = Location::caller();
        let listening = self.listen();
        async move {
            let listening = listening.unwrap_or_else(|e| panic!("graceful: {e}"));
            let (supervisor, root) = self.prepare(listening);
            // Started before the first `.await`: the erased `main` is not
            // part of this future, which is `Send` whenever `main` is.
            RootTask::new(main, at).start(root);
            supervisor.run().await
        }
    }
}
