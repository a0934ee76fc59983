//! How a lifecycle starts, behind the entry points `run`, `block_on` and
//! `supervise`: the environment's overrides, the signal handlers (first),
//! the tokio runtime, the root scope and the supervisor.

use super::*;

impl Runtime {
    /// Applies `GRACEFUL_TIMEOUT` and `GRACEFUL_LAME_DUCK` from the
    /// environment over the configured values. A value that is not a
    /// duration (`30s`, `1500ms`, `1m 30s`) is an error naming the variable.
    ///
    /// ```no_run
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// fn main() -> Result<(), graceful::ConfigError> {
    ///     // GRACEFUL_TIMEOUT=25s wins over the 20 s written here.
    ///     let runtime = Runtime::new().timeout(Duration::from_secs(20)).env_overrides()?;
    ///     let report = runtime.block_on(|ctx| async move { /* .. */ });
    ///     std::process::exit(report.exit_code())
    /// }
    /// ```
    pub fn env_overrides(self) -> Result<Self, ConfigError> {
        self.overrides_from(|var| std::env::var(var).ok())
    }

    pub(super) fn overrides_from(
        mut self,
        get: impl Fn(&'static str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        if let Some(timeout) = config::deadline_from_env(TIMEOUT, &get)? {
            self.timeout = timeout;
        }
        if let Some(lame_duck) = config::from_env(LAME_DUCK, &get)? {
            self.lame_duck = lame_duck;
        }
        #[cfg(all(unix, feature = "upgrade"))]
        self.upgrade.override_from(&get)?;
        Ok(self)
    }

    pub(super) fn try_block_on(
        self,
        main: RootTask<'_>,
        listening: Listening,
    ) -> Result<Report, ConfigError> {
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
    pub(super) fn listen(&self) -> Result<Listening, ConfigError> {
        // Before the first thread: the environment is read once, here.
        #[cfg(all(unix, feature = "upgrade"))]
        crate::upgrade::capture();
        #[cfg(unix)]
        let under_service_manager = under_service_manager();
        #[cfg(not(unix))]
        let under_service_manager = false;
        let heard = self.table().heard_at_start(under_service_manager);
        let (handlers, deliveries) = os::listen(heard)?;
        Ok(Listening {
            handlers,
            deliveries,
            notifier: Notifier::from_env(),
        })
    }

    /// The supervisor of a new lifecycle and its root context, in the
    /// current tokio runtime.
    pub(super) fn prepare(self, listening: Listening) -> (Supervisor, Context) {
        let Listening {
            handlers,
            deliveries,
            notifier,
        } = listening;
        remember_panic_locations();
        let handle = tokio::runtime::Handle::current();
        let shared = Arc::new(Process::new(
            !self.lame_duck.is_zero(),
            handle,
            Some(handlers),
            notifier,
        ));
        // The new process of an upgrade speaks to systemd once handed the service.
        #[cfg(all(unix, feature = "upgrade"))]
        crate::upgrade::hand_over_when_ready(&shared);
        let root = Scope::root(shared.clone(), "main");
        tracing::debug!(timeout = ?self.timeout, lame_duck = ?self.lame_duck, signals = ?self.signals, "started");
        let ctx = Context::new(root.clone());
        (self.supervisor(shared, root, deliveries), ctx)
    }

    /// What each signal does, as this configuration says.
    fn table(&self) -> Table {
        Table {
            shutdown: self.signals.clone(),
            dump: self.dump_signal,
            #[cfg(all(unix, feature = "upgrade"))]
            upgrade: self.upgrade.signal,
            #[cfg(not(all(unix, feature = "upgrade")))]
            upgrade: None,
        }
    }

    /// The supervisor of this configuration, of `root`'s lifecycle.
    pub(crate) fn supervisor(
        self,
        shared: Arc<Process>,
        root: Arc<Scope>,
        deliveries: mpsc::UnboundedReceiver<Delivery>,
    ) -> Supervisor {
        let limits = Limits {
            timeout: self.timeout,
            lame_duck: self.lame_duck,
            force_on_second_signal: self.force_on_second_signal,
            progress_every: self.progress_every,
        };
        let table = self.table();
        #[cfg(all(unix, feature = "upgrade"))]
        let upgrader = crate::upgrade::Upgrader::new(self.upgrade, &shared);
        Supervisor::new(
            limits,
            table,
            shared,
            root,
            deliveries,
            #[cfg(all(unix, feature = "upgrade"))]
            upgrader,
        )
    }
}

/// Whether a service manager started this process: systemd sets
/// `INVOCATION_ID` for every unit and `NOTIFY_SOCKET` for `Type=notify`.
#[cfg(unix)]
fn under_service_manager() -> bool {
    ["INVOCATION_ID", crate::env::NOTIFY_SOCKET]
        .iter()
        .any(|var| std::env::var_os(var).is_some())
}

/// What a lifecycle starts from, made before the runtime's first thread:
/// the installed handlers, what they hear, and the notifier read from the
/// environment.
pub(super) struct Listening {
    pub(super) handlers: Arc<Handlers>,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    notifier: Notifier,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The future can be spawned: it is `Send` whenever `main` is.
    #[test]
    fn supervise_is_send() {
        fn spawnable<T: Send + 'static>(_: &T) {}
        let fut = Runtime::new()
            .signals([])
            .supervise(|ctx| async move { ctx.shutdown() });
        spawnable(&fut);
    }

    #[test]
    fn env_values_are_durations_or_say_what_to_write() {
        let env = |var| match var {
            TIMEOUT => Some("1m 30s".to_owned()),
            _ => Some(" 1500ms ".to_owned()),
        };
        let rt = Runtime::new().overrides_from(env).unwrap();
        assert_eq!(
            (rt.timeout, rt.lame_duck),
            (Duration::from_secs(90), Duration::from_millis(1500))
        );
        let error = |value: &'static str| {
            Runtime::new()
                .overrides_from(move |_| Some(value.to_owned()))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("soon"),
            "GRACEFUL_TIMEOUT=soon is not a duration: write e.g. 30s, 1500ms or 1m 30s"
        );
        assert_eq!(
            error("2"),
            "GRACEFUL_TIMEOUT=2 has no unit: write 2s (seconds) or 2ms (milliseconds)"
        );
        assert_eq!(
            error("2.5"),
            "GRACEFUL_TIMEOUT=2.5 is not a duration: write e.g. 30s, 1500ms or 1m 30s"
        );
        // As `timeout = "0s"` in the attribute is refused.
        assert_eq!(
            error("0s"),
            "GRACEFUL_TIMEOUT=0s is zero: a zero deadline would end it at once; write e.g. 30s"
        );
        let lame_duck_only = |var| (var == LAME_DUCK).then(|| "0s".to_owned());
        let rt = Runtime::new().overrides_from(lame_duck_only).unwrap();
        assert_eq!(
            rt.lame_duck,
            Duration::ZERO,
            "GRACEFUL_LAME_DUCK=0s is no lame duck"
        );
    }
}
