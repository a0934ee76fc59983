//! What happened: why shutdown began, what failed, what was stuck, and the
//! one place that writes to stderr.
//!
//! The final [`Report`] and [`Reason`] are also at the crate's root; the
//! records the report is made of are here: a [`Failure`] (its
//! [`FailureKind`]: the [`Error`] value, or the [`Panic`]), a task still
//! [`Running`], a task [`Restarted`], a scope's [`Note`], each about a
//! [`Subject`], and the report's [`Outcome`].

use std::fmt;
use std::time::Duration;

use crate::console::{Count, Secs};
pub use crate::failure::{Error, Failure, FailureKind, Note, Restarted, Running, Subject};
pub use crate::panic::Panic;
use crate::signal::Signal;
pub use exit_code::ExitCode;

mod exit_code;

/// Why the shutdown began.
///
/// ```
/// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
/// use graceful::Reason;
/// assert_eq!(ctx.reason(), None);
/// ctx.shutdown();
/// assert_eq!(ctx.reason(), Some(Reason::Requested));
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// A configured signal arrived.
    Signal(Signal),
    /// [`Context::shutdown`](crate::Context::shutdown) was called.
    Requested,
    /// A task, `main` or a hook returned an error or panicked (the first one).
    Failed {
        /// The name of the task that failed first.
        task: String,
    },
    /// Every task ended by itself.
    Finished,
    /// An [essential](crate::Policy::Essential) task ended without failure.
    Ended {
        /// The name of the task.
        task: String,
    },
    /// A new process of the program, started by an
    /// [upgrade](crate::Runtime::upgrade_signal), is ready and serves: this
    /// one stops accepting and drains (no lame duck).
    Upgraded {
        /// The new process's id.
        pid: u32,
    },
}

impl Reason {
    /// A lame duck gives load balancers time to stop sending traffic; it
    /// makes no sense when the service is broken or already idle.
    pub(crate) fn allows_lame_duck(&self) -> bool {
        matches!(self, Reason::Signal(_) | Reason::Requested)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Signal(sig) => write!(f, "{sig} received"),
            Reason::Requested => f.write_str("shutdown requested"),
            Reason::Failed { task } => write!(f, "task `{task}` failed"),
            Reason::Finished => f.write_str("all tasks finished"),
            Reason::Ended { task } => write!(f, "essential task `{task}` ended"),
            Reason::Upgraded { pid } => write!(f, "upgraded: process {pid} took over"),
        }
    }
}

/// How the shutdown ended.
///
/// ```
/// use graceful::Runtime;
/// use graceful::report::Outcome;
/// use std::time::Duration;
///
/// let report = Runtime::new()
///     .signals([])
///     .timeout(Duration::from_millis(50))
///     .block_on(|ctx| async move {
///         ctx.spawn("stubborn", std::future::pending::<()>()); // ignores cancellation
///         ctx.shutdown();
///     });
/// assert_eq!(report.outcome, Outcome::DeadlineExceeded { timeout: Duration::from_millis(50) });
/// assert_eq!(report.exit_code(), 124);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every task and hook ended.
    Completed,
    /// The deadline passed first (exit code 124).
    DeadlineExceeded {
        /// The deadline that passed.
        timeout: Duration,
    },
    /// A second signal forced the exit (exit code 128 + its number).
    Forced(Signal),
}

/// Everything the final report says; [`Runtime::run`](crate::Runtime::run)
/// prints it on stderr and exits with [`Report::exit_code`].
///
/// ```
/// use graceful::{Reason, Runtime};
/// use graceful::report::Outcome;
///
/// let report = Runtime::new().signals([]).block_on(|ctx| async move {
///     ctx.spawn("loader", async { Err::<(), _>("no such file") });
/// });
/// assert_eq!(report.reason, Reason::Failed { task: "loader".into() });
/// assert_eq!(report.outcome, Outcome::Completed);
/// assert_eq!(report.failures.len(), 1);
/// assert!(report.still_running.is_empty());
/// eprintln!("{report}"); // what `Runtime::run` prints on stderr
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Why the shutdown began.
    pub reason: Reason,
    /// How it ended.
    pub outcome: Outcome,
    /// Every critical failure, in the order they happened: each one made
    /// the exit code 1.
    pub failures: Vec<Failure>,
    /// How many isolated tasks failed (the process went on).
    pub isolated_failures: u64,
    /// The most recent isolated failures (at most 20), oldest first.
    pub isolated: Vec<Failure>,
    /// Every task that was restarted, with its count and last failure.
    pub restarts: Vec<Restarted>,
    /// At the deadline or a forced exit, what the scopes said they had in
    /// flight (see [`Context::describe`](crate::Context::describe)).
    pub notes: Vec<Note>,
    /// What was still running at the deadline or forced exit.
    pub still_running: Vec<Running>,
    /// Time from the trigger to the end of the shutdown.
    pub shutdown_took: Duration,
    /// The exit code the program chose with
    /// [`Context::shutdown_with`](crate::Context::shutdown_with), if it did.
    pub requested_exit_code: Option<ExitCode>,
}

impl Report {
    /// 0: no failure; 1: a task, `main` or hook failed; 124: the deadline
    /// passed; 128 + n: a second signal n forced the exit. A code the
    /// program chose ([`Context::shutdown_with`](crate::Context::shutdown_with))
    /// replaces 0 and 1: it says why the program stopped, which a failure
    /// during the drain does not change; the deadline and a forced exit
    /// still say that the shutdown itself did not complete.
    ///
    /// ```no_run
    /// use graceful::Runtime;
    ///
    /// fn main() {
    ///     let report = Runtime::new().block_on(|ctx| async move {
    ///         // .. the service ..
    ///     });
    ///     std::process::exit(report.exit_code()); // what `Runtime::run` does
    /// }
    /// ```
    pub fn exit_code(&self) -> i32 {
        match self.outcome {
            Outcome::Forced(sig) => 128 + sig.number(),
            Outcome::DeadlineExceeded { .. } => 124,
            Outcome::Completed => match self.requested_exit_code {
                Some(code) => code.get().into(),
                None if !self.failures.is_empty() => 1,
                None => 0,
            },
        }
    }

    /// Whether the report has anything to say on stderr: not for a program
    /// that simply finished its work.
    pub(crate) fn worth_printing(&self) -> bool {
        self.reason != Reason::Finished
            || self.exit_code() != 0
            || self.isolated_failures > 0
            || !self.restarts.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let took = Secs(self.shutdown_took);
        match self.outcome {
            Outcome::Completed => {
                write!(f, "graceful: shutdown complete in {took} ({})", self.reason)?;
                if let Some(code) = self.requested_exit_code {
                    write!(f, "; exiting with {}, as the program asked", code.get())?;
                }
            }
            Outcome::DeadlineExceeded { timeout } => write!(
                f,
                "graceful: shutdown deadline of {} passed ({}); exiting with 124",
                Secs(timeout),
                self.reason
            )?,
            Outcome::Forced(sig) => write!(
                f,
                "graceful: second {sig} after {took}: forced exit with {}",
                self.exit_code()
            )?,
        }
        if !self.still_running.is_empty() {
            write!(
                f,
                "\ngraceful: {} still running:",
                Count(self.still_running.len(), "task")
            )?;
            for r in &self.still_running {
                write!(f, "\n  - {r}")?;
            }
        }
        for note in &self.notes {
            write!(f, "\ngraceful: in flight in scope `{}`:", note.scope)?;
            for line in &note.lines {
                write!(f, "\n  - {line}")?;
            }
        }
        if !self.failures.is_empty() {
            write!(f, "\ngraceful: {}:", Count(self.failures.len(), "failure"))?;
            for failure in &self.failures {
                write!(f, "\n  - {failure}")?;
            }
        }
        if self.isolated_failures > 0 {
            write!(
                f,
                "\ngraceful: {} of isolated tasks (the process went on)",
                Count(self.isolated_failures as usize, "failure")
            )?;
            if self.isolated_failures > self.isolated.len() as u64 {
                write!(f, ", the last {}", self.isolated.len())?;
            }
            f.write_str(":")?;
            for failure in &self.isolated {
                write!(f, "\n  - {failure}")?;
            }
        }
        if !self.restarts.is_empty() {
            write!(
                f,
                "\ngraceful: {} restarted:",
                Count(self.restarts.len(), "task")
            )?;
            for restarted in &self.restarts {
                write!(f, "\n  - {restarted}")?;
            }
        }
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::failure::{FailureKind, Subject};

    fn report(outcome: Outcome, failures: usize) -> Report {
        Report {
            reason: Reason::Signal(Signal::Terminate),
            outcome,
            failures: (0..failures)
                .map(|i| Failure {
                    who: Subject {
                        name: format!("t{i}"),
                        scope: "main".into(),
                        spawned_at: "src/main.rs:1:1".into(),
                        defined_at: None,
                        hook: false,
                    },
                    kind: FailureKind::Error("boom".into()),
                })
                .collect(),
            isolated_failures: 0,
            isolated: vec![],
            restarts: vec![],
            notes: vec![],
            still_running: vec![],
            shutdown_took: Duration::from_millis(1500),
            requested_exit_code: None,
        }
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(report(Outcome::Completed, 0).exit_code(), 0);
        assert_eq!(report(Outcome::Completed, 2).exit_code(), 1);
        let timeout = Duration::from_secs(1);
        assert_eq!(
            report(Outcome::DeadlineExceeded { timeout }, 1).exit_code(),
            124
        );
        assert_eq!(
            report(Outcome::Forced(Signal::Interrupt), 1).exit_code(),
            130
        );
        assert_eq!(
            report(Outcome::Forced(Signal::Terminate), 0).exit_code(),
            143
        );
        // A chosen code replaces 0 and 1, not 124 or 128 + n.
        let chosen = |outcome, failures| Report {
            requested_exit_code: Some(ExitCode::new(78)),
            ..report(outcome, failures)
        };
        assert_eq!(chosen(Outcome::Completed, 0).exit_code(), 78);
        assert_eq!(chosen(Outcome::Completed, 1).exit_code(), 78);
        assert_eq!(
            chosen(Outcome::DeadlineExceeded { timeout }, 0).exit_code(),
            124
        );
        assert_eq!(
            chosen(Outcome::Forced(Signal::Interrupt), 0).exit_code(),
            130
        );
        assert_eq!(
            (0..=255)
                .filter_map(ExitCode::try_new)
                .map(ExitCode::get)
                .collect::<Vec<_>>(),
            (1..=123).collect::<Vec<_>>()
        );
    }

    #[test]
    fn report_names_failures_and_stuck_tasks() {
        let mut r = report(
            Outcome::DeadlineExceeded {
                timeout: Duration::from_secs(2),
            },
            1,
        );
        r.still_running.push(Running {
            who: Subject {
                name: "stubborn".into(),
                hook: false,
                scope: "main/work".into(),
                spawned_at: "src/main.rs:9:5".into(),
                defined_at: Some("src/main.rs:20:10".into()),
            },
            waiting: Some(Duration::from_millis(2000)),
        });
        assert_eq!(
            r.to_string(),
            "graceful: shutdown deadline of 2.00s passed (SIGTERM received); exiting with 124\n\
             graceful: 1 task still running:\n  \
             - task `stubborn` in scope `main/work`, defined at src/main.rs:20:10, spawned at src/main.rs:9:5, cancelled 2.00s ago\n\
             graceful: 1 failure:\n  \
             - task `t0` in scope `main` (spawned at src/main.rs:1:1) returned an error: boom"
        );
    }
}
