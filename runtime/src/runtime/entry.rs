//! The entry points: `run`, `block_on` and `supervise` install the signal
//! handlers first, build or join a tokio runtime, start `main` as the root
//! task and hand the lifecycle to the supervisor.

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
    /// ```
    /// use graceful::Runtime;
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     ctx.spawn("fails", async { Err::<(), _>("no database") });
    /// });
    /// assert_eq!(report.exit_code(), 1);
    /// assert_eq!(report.failures[0].task, "fails");
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

    fn try_block_on(self, main: RootTask<'_>, listening: Listening) -> Result<Report, ConfigError> {
        let rt = self.tokio(Flavor::MultiThread).build()?;
        let report = rt.block_on(async {
            let (supervisor, root) = self.prepare(listening);
            main.start(root);
            supervisor.run().await
        });
        // Abandon whatever still runs (stuck tasks, blocking threads).
        rt.shutdown_background();
        Ok(report)
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

    /// The builder of the tokio runtime, of `default` flavor unless told.
    pub(crate) fn tokio(&self, default: Flavor) -> tokio::runtime::Builder {
        let mut builder = match self.flavor.unwrap_or(default) {
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        if let Some(n) = self.worker_threads {
            builder.worker_threads(n);
        }
        builder.enable_all();
        builder
    }

    /// Installs the handlers of every signal the process hears.
    fn listen(&self) -> Result<Listening, ConfigError> {
        let mut heard: Vec<Heard> = self.signals.iter().copied().map(Heard::Signal).collect();
        heard.extend(self.dump_signal.map(Heard::Signal));
        #[cfg(unix)]
        heard.extend([Heard::Signal(Signal::User2), Heard::FileTooLarge]);
        Ok(listener::listen(heard)?)
    }

    /// The supervisor of a new lifecycle and its root context, in the
    /// current tokio runtime.
    fn prepare(self, (handlers, deliveries): Listening) -> (Supervisor, Context) {
        remember_panic_locations();
        let handle = tokio::runtime::Handle::current();
        let shared = Shared::new(!self.lame_duck.is_zero(), handle, Some(handlers));
        let root = Scope::root(shared.clone(), "main");
        tracing::debug!(timeout = ?self.timeout, lame_duck = ?self.lame_duck, signals = ?self.signals, "started");
        let ctx = Context::new(root.clone());
        (self.supervisor(shared, root, deliveries), ctx)
    }

    /// The supervisor of this configuration, of `root`'s lifecycle.
    pub(crate) fn supervisor(
        self,
        shared: Arc<Shared>,
        root: Arc<Scope>,
        deliveries: mpsc::UnboundedReceiver<Delivery>,
    ) -> Supervisor {
        let limits = Limits {
            timeout: self.timeout,
            lame_duck: self.lame_duck,
            force_on_second_signal: self.force_on_second_signal,
            progress_every: self.progress_every,
        };
        let signals = Signals {
            shutdown: self.signals,
            dump: self.dump_signal,
        };
        Supervisor::new(limits, signals, shared, root, deliveries)
    }
}

/// The installed handlers and what they hear.
type Listening = (Arc<Handlers>, mpsc::UnboundedReceiver<Delivery>);
