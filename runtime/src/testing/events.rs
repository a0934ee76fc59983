//! What a test records of the lifecycle: every task's end, every hook's
//! run and every scope's drain, in the order they happened, at tokio's
//! (under a paused clock, virtual) time. Only a test installs a
//! [`Recorder`] as the lifecycle's observer; elsewhere there is none.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::console::Secs;
use crate::observe::{Observer, Step};
use crate::sync::lock;

/// What an [`Event`] says happened.
///
/// ```
/// use graceful::{EventKind, Runtime};
///
/// Runtime::new().test(|ctx, test| async move {
///     ctx.spawn("worker", async {});
///     ctx.shutdown();
///     test.report().await;
///     let kinds: Vec<EventKind> = test.events().iter().map(|e| e.kind).collect();
///     assert_eq!(kinds, [EventKind::TaskEnded, EventKind::ScopeDrained]);
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
#[non_exhaustive]
pub enum EventKind {
    /// A task ended: it returned, panicked, or was dropped (aborted, or
    /// left running by a shutdown cut short and dropped with the runtime).
    TaskEnded,
    /// A deferred hook ended, with or without a failure.
    HookRan,
    /// A scope's drain ended: its child scopes, then its tasks, then its
    /// hooks. A scope whose drain was cut short (by the deadline or a
    /// forced exit) has none.
    ScopeDrained,
}

/// One step of the lifecycle, as [`Test::events`](crate::Test::events)
/// lists them: which task, hook or scope ended, where, and when.
///
/// Its text reads `task `flush` ended in `main/http` at 3.00s`,
/// `hook `close db` ran in `main` at 3.00s`, `scope `main/http` drained at
/// 3.00s`, so that a test can assert on the whole order in one comparison.
///
/// ```
/// use graceful::{EventKind, Runtime};
/// use std::time::Duration;
///
/// Runtime::new().test(|ctx, test| async move {
///     let http = ctx.scope("http");
///     let c = http.clone();
///     http.spawn("server", async move {
///         c.cancelled().await;
///         tokio::time::sleep(Duration::from_secs(2)).await; // answers what is in flight
///     });
///     ctx.defer("close db", async {});
///     ctx.shutdown();
///     test.report().await;
///     let order: Vec<String> = test.events().iter().map(ToString::to_string).collect();
///     assert_eq!(
///         order,
///         [
///             "task `server` ended in `main/http` at 2.00s",
///             "scope `main/http` drained at 2.00s",
///             "hook `close db` ran in `main` at 2.00s",
///             "scope `main` drained at 2.00s",
///         ]
///     );
///     assert_eq!(test.events()[0].kind, EventKind::TaskEnded);
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The task's or hook's name; for [`EventKind::ScopeDrained`], the
    /// scope's path.
    pub name: String,
    /// The path of the scope, such as `main/http`.
    pub scope: String,
    /// When, counted from the start of the test, in tokio's time (virtual
    /// under a paused clock).
    pub at: Duration,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, scope, at) = (&self.name, &self.scope, Secs(self.at));
        match self.kind {
            EventKind::TaskEnded => write!(f, "task `{name}` ended in `{scope}` at {at}"),
            EventKind::HookRan => write!(f, "hook `{name}` ran in `{scope}` at {at}"),
            EventKind::ScopeDrained => write!(f, "scope `{scope}` drained at {at}"),
        }
    }
}

/// The events of one test, in order.
pub(crate) struct Recorder {
    start: Instant,
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    pub(crate) fn new() -> Recorder {
        Recorder {
            start: Instant::now(),
            events: Mutex::default(),
        }
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }

    /// Since the start of the test, in tokio's time.
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

impl Observer for Recorder {
    fn observe(&self, step: Step, name: &str, scope: &str) {
        let kind = match step {
            Step::TaskEnded => EventKind::TaskEnded,
            Step::HookRan => EventKind::HookRan,
            Step::ScopeDrained => EventKind::ScopeDrained,
        };
        let event = Event {
            kind,
            name: name.to_owned(),
            scope: scope.to_owned(),
            at: self.start.elapsed(),
        };
        lock(&self.events).push(event);
    }
}
