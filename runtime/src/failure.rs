//! What happened to one task or hook: how it failed, whether it was
//! restarted, or that it was still running at the exit.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt as _;

use crate::console::Secs;
use crate::panic::Panic;

mod error;
pub use error::Error;

/// A definition site recorded by `#[graceful::task]`.
#[doc(hidden)]
#[derive(Debug)]
pub struct Site {
    pub file: &'static str,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// How a task or hook failed.
///
/// ```
/// use graceful::Runtime;
/// use graceful::report::FailureKind;
///
/// let report = Runtime::new().signals([]).block_on(|ctx| async move {
///     ctx.spawn("loader", async { Err::<(), _>("no such file") });
/// });
/// assert_eq!(report.failures[0].kind, FailureKind::Error("no such file".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// It returned `Err`: the error, kept as its value (the report prints
    /// it with its causes).
    Error(Error),
    /// It panicked.
    Panic(Panic),
    /// It was still running when its scope's drain budget passed, and was
    /// left running while the rest of the shutdown went on.
    Abandoned {
        /// From the start of the scope's drain.
        after: Duration,
    },
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Error(e) => write!(f, "returned an error: {e:#}"),
            FailureKind::Panic(p) => p.fmt(f),
            FailureKind::Abandoned { after } => write!(
                f,
                "was abandoned: still running {} after its scope began to drain (the scope's drain budget)",
                Secs(*after)
            ),
        }
    }
}

/// Runs a hook's future to its end and says how it failed, if it did: an
/// `Err` (the error the hook returned) or a panic.
pub(crate) async fn caught(hook: impl Future<Output = Option<Error>>) -> Option<FailureKind> {
    match AssertUnwindSafe(hook).catch_unwind().await {
        Ok(error) => error.map(FailureKind::Error),
        Err(payload) => Some(FailureKind::Panic(Panic::caught(payload))),
    }
}

/// Who a report line is about: a task, `main` or a hook, with its scope and
/// where it was spawned (or deferred) and defined. Every record of the
/// report ([`Failure`], [`Running`], [`Restarted`]) names its task this way.
///
/// ```
/// use graceful::Runtime;
///
/// let report = Runtime::new().signals([]).block_on(|ctx| async move {
///     ctx.scope("jobs").spawn("loader", async { Err::<(), _>("no such file") });
/// });
/// let who = &report.failures[0].who;
/// assert_eq!((who.name.as_str(), who.scope.as_str(), who.hook), ("loader", "main/jobs", false));
/// assert!(who.spawned_at.contains(".rs:")); // file:line:column
/// println!("{who}"); // task `loader` in scope `main/jobs` (spawned at ..)
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Subject {
    /// The task's (or hook's) name.
    pub name: String,
    /// The path of its scope, such as `main/http`.
    pub scope: String,
    /// Where it was spawned (or deferred, registered, or
    /// [isolated](crate::Context::isolate)): `file:line:column`.
    pub spawned_at: String,
    /// Where its `#[graceful::task]` function is defined, if it is one.
    pub defined_at: Option<String>,
    /// Whether it is a deferred hook rather than a task.
    pub hook: bool,
}

impl Subject {
    /// `task` or `hook`.
    fn what(&self) -> &'static str {
        if self.hook { "hook" } else { "task" }
    }
}

impl fmt::Display for Subject {
    /// `task `name` in scope `path` (defined at .., spawned at ..)`, or
    /// `hook `name` in scope `path` (deferred at ..)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}` in scope `{}` (",
            self.what(),
            self.name,
            self.scope
        )?;
        match (&self.defined_at, self.hook) {
            (_, true) => write!(f, "deferred at {}", self.spawned_at)?,
            (Some(def), false) => write!(f, "defined at {def}, spawned at {}", self.spawned_at)?,
            (None, false) => write!(f, "spawned at {}", self.spawned_at)?,
        }
        f.write_str(")")
    }
}

/// One failed task, hook or `main`.
///
/// ```
/// use graceful::Runtime;
///
/// let report = Runtime::new().signals([]).block_on(|ctx| async move {
///     ctx.scope("jobs").spawn("loader", async { Err::<(), _>("no such file") });
/// });
/// let failure = &report.failures[0];
/// assert_eq!((failure.who.name.as_str(), failure.who.scope.as_str()), ("loader", "main/jobs"));
/// println!("{failure}"); // task `loader` in scope `main/jobs` (spawned at ..) returned an error: no such file
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The task, hook or `main` that failed.
    pub who: Subject,
    /// The error or the panic.
    pub kind: FailureKind,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.who, self.kind)
    }
}

/// A task or hook still running when the deadline passed or the exit was forced.
///
/// ```
/// use graceful::Runtime;
/// use std::time::Duration;
///
/// let report = Runtime::new()
///     .signals([])
///     .timeout(Duration::from_millis(50))
///     .block_on(|ctx| async move {
///         ctx.spawn("stubborn", std::future::pending::<()>());
///         ctx.shutdown();
///     });
/// let stuck = &report.still_running[0];
/// assert_eq!((stuck.who.name.as_str(), stuck.who.hook), ("stubborn", false));
/// assert!(stuck.waiting.is_some()); // cancelled, and still running
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Running {
    /// The task or hook still running.
    pub who: Subject,
    /// How long it has ignored cancellation (for a hook: how long it has
    /// run); `None` if its scope was not cancelled yet.
    pub waiting: Option<Duration>,
}

impl fmt::Display for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = &self.who;
        write!(f, "{} `{}` in scope `{}`", who.what(), who.name, who.scope)?;
        if let Some(def) = &who.defined_at {
            write!(f, ", defined at {def}")?;
        }
        write!(f, ", spawned at {}", who.spawned_at)?;
        match (self.waiting, who.hook) {
            (Some(d), false) => write!(f, ", cancelled {} ago", Secs(d)),
            (Some(d), true) => write!(f, ", running for {}", Secs(d)),
            (None, _) => write!(f, ", not cancelled yet"),
        }
    }
}

/// What a scope said it had in flight (through
/// [`Context::describe`](crate::Context::describe)) when the report was made.
///
/// ```
/// use graceful::Runtime;
/// use std::time::Duration;
///
/// let report = Runtime::new()
///     .signals([])
///     .timeout(Duration::from_millis(50))
///     .block_on(|ctx| async move {
///         let jobs = ctx.scope("jobs");
///         jobs.describe(|| vec!["job 7: resize photo".to_string()]);
///         jobs.spawn("worker", std::future::pending::<()>());
///         ctx.shutdown();
///     });
/// assert_eq!(report.notes[0].scope, "main/jobs");
/// assert_eq!(report.notes[0].lines, ["job 7: resize photo"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Note {
    /// The path of the scope.
    pub scope: String,
    /// One line per thing in flight, as the scope wrote them.
    pub lines: Vec<String>,
}

/// A task started with [`Context::spawn_restarting`](crate::Context::spawn_restarting)
/// that was restarted at least once, as the final report lists it.
///
/// ```
/// use graceful::{Restart, Runtime};
/// use std::time::Duration;
///
/// let report = Runtime::new().signals([]).block_on(|ctx| async move {
///     let once = Restart::new()
///         .backoff(Duration::from_millis(1), Duration::from_millis(1))
///         .intensity(1, Duration::from_secs(60));
///     ctx.spawn_restarting("consumer", once, |_ctx| async { Err::<(), _>("connection reset") });
/// });
/// let restarted = &report.restarts[0];
/// assert_eq!((restarted.who.name.as_str(), restarted.restarts), ("consumer", 1));
/// assert!(restarted.gave_up.is_some()); // the second failure escalated
/// assert_eq!(report.exit_code(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Restarted {
    /// The task.
    pub who: Subject,
    /// How many times it was started again.
    pub restarts: u32,
    /// Why it was last started again (`None`: it returned, and restarts on
    /// any return).
    pub last_failure: Option<FailureKind>,
    /// Why its failure escalated as critical, if it did.
    pub gave_up: Option<String>,
}

impl fmt::Display for Restarted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.restarts == 1 { "" } else { "s" };
        write!(f, "{} restarted {} time{s}", self.who, self.restarts)?;
        if let Some(last) = &self.last_failure {
            write!(f, ", last after it {last}")?;
        }
        if let Some(why) = &self.gave_up {
            write!(f, "; {why}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(defined_at: Option<&str>, hook: bool) -> Failure {
        Failure {
            who: Subject {
                name: "close db".into(),
                scope: "main".into(),
                spawned_at: "src/main.rs:9:5".into(),
                defined_at: defined_at.map(Into::into),
                hook,
            },
            kind: FailureKind::Error("boom".into()),
        }
    }

    #[test]
    fn a_task_says_where_it_is_defined_and_spawned() {
        assert_eq!(
            failure(Some("src/main.rs:20:10"), false).to_string(),
            "task `close db` in scope `main` (defined at src/main.rs:20:10, spawned at src/main.rs:9:5) returned an error: boom"
        );
        assert_eq!(
            failure(None, false).to_string(),
            "task `close db` in scope `main` (spawned at src/main.rs:9:5) returned an error: boom"
        );
    }

    #[test]
    fn a_hook_says_it_is_a_hook_and_where_it_was_deferred() {
        assert_eq!(
            failure(None, true).to_string(),
            "hook `close db` in scope `main` (deferred at src/main.rs:9:5) returned an error: boom"
        );
    }
}
