//! The builder's options of the signals: which start a shutdown, whether a
//! later one forces the exit, which prints the task dump. What each signal
//! does is `crate::signal::table`'s.

use super::Runtime;
use crate::signal::Signal;

impl Runtime {
    /// The signals that start a shutdown (default `SIGINT` and `SIGTERM`);
    /// with an empty set, no signal does. Copies of these signals that
    /// arrive within [`Signal::WINDOW`](crate::Signal::WINDOW) of the first
    /// are the same request; one after it forces the exit (see
    /// [`force_on_second_signal`](Self::force_on_second_signal)).
    ///
    /// ```no_run
    /// use graceful::{Runtime, Signal};
    ///
    /// # #[cfg(unix)]
    /// Runtime::new()
    ///     .signals([Signal::Terminate, Signal::Hangup]) // Ctrl-C keeps its default action
    ///     .run(|ctx| async move { /* .. */ });
    /// ```
    pub fn signals(mut self, signals: impl IntoIterator<Item = Signal>) -> Self {
        // Each signal once, wherever it is repeated: two listeners for one
        // signal would turn one delivery into a request and a forced exit.
        self.signals.clear();
        for sig in signals {
            if !self.signals.contains(&sig) {
                self.signals.push(sig);
            }
        }
        self
    }

    /// Whether a second signal during shutdown reports what still runs and
    /// exits at once with 128 + its number (default `true`).
    ///
    /// ```
    /// use graceful::Runtime;
    /// use std::time::Duration;
    ///
    /// let report = Runtime::new()
    ///     .force_on_second_signal(false) // a second signal is one more request, nothing else
    ///     .signals([])
    ///     .block_on(|ctx| async move { ctx.shutdown() });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn force_on_second_signal(mut self, force: bool) -> Self {
        self.force_on_second_signal = force;
        self
    }

    /// The signal that prints the task dump (the scope tree, each task with
    /// where it was defined and spawned and its age, pending hooks, what
    /// the scopes have in flight) on stderr and as a `tracing` event, while
    /// the process goes on: `SIGUSR1` by default on Unix; with `None`,
    /// `SIGUSR1` keeps its default action. At most one dump a second. A
    /// signal that is also a shutdown signal starts the shutdown instead.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use graceful::{Runtime, Signal};
    ///
    /// let report = Runtime::new()
    ///     .dump_signal(Some(Signal::Quit)) // kill -QUIT <pid> (Ctrl-\) prints the task dump
    ///     .signals([])
    ///     .block_on(|ctx| async move { ctx.shutdown() });
    /// assert_eq!(report.exit_code(), 0);
    /// # }
    /// ```
    pub fn dump_signal(mut self, signal: Option<Signal>) -> Self {
        self.dump_signal = signal;
        self
    }
}
