//! Tracked work: the registry of a scope's live tasks and running hooks
//! (what a report names), and the guard around a task's future that catches
//! its panic and reports its failure.
//!
//! A failure goes from the task's guard to its registration, which knows
//! the task's name, its scope's path and the process-wide [`Process`] it
//! reports to: it never reaches back up to the scope.

use std::borrow::Cow;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, ready};

use futures_util::FutureExt as _;
use futures_util::future::CatchUnwind;
use tokio::time::Instant;

use live::{Place, Tasks};

use crate::console::Secs;
use crate::failure::{Failure, FailureKind, Running, Site, Subject};
use crate::observe::Step;
use crate::panic::Panic;
use crate::policy::Policy;
use crate::process::Process;
use crate::task::{TaskError, TaskOutput};

/// What a report says of a task or hook: its name, where it was spawned
/// (or deferred) and, for a `#[graceful::task]`, where it is defined.
pub(crate) struct Origin {
    pub(crate) name: Cow<'static, str>,
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) defined_at: Option<&'static Site>,
}

impl Origin {
    /// A task or hook without a `#[graceful::task]` definition site.
    pub(crate) fn new(name: Cow<'static, str>, spawned_at: &'static Location<'static>) -> Origin {
        Origin {
            name,
            spawned_at,
            defined_at: None,
        }
    }

    /// What this names, in scope `scope`, as a report names it.
    pub(crate) fn subject(&self, scope: &str, hook: bool) -> Subject {
        Subject {
            name: self.name.to_string(),
            scope: scope.to_owned(),
            spawned_at: self.spawned_at.to_string(),
            defined_at: self.defined_at.map(Site::to_string),
            hook,
        }
    }
}

/// What is tracked, and so where its failure goes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A task: its failure follows its policy.
    Task(Policy),
    /// A task started again on failure: it reports its own failures.
    Restarted,
    /// A deferred hook: its failure is critical.
    Hook,
}

/// A live task or running hook, as the report will name it.
pub(crate) struct Entry {
    pub(crate) origin: Origin,
    pub(crate) kind: Kind,
}

/// The running tasks and hooks of one scope, and where their failures go.
/// Tasks hold this rather than the scope, so that a task's exit writes to
/// its own slot only and not to the scope's reference count as well.
pub(crate) struct Registry {
    /// The path of the scope, such as `main/http`.
    pub(crate) path: String,
    pub(crate) shared: Arc<Process>,
    /// The live tasks: each marks its own slot ended as it ends, without
    /// the lock that spawns and reports take.
    tasks: Tasks,
    /// Whether an observer is told of every end (the hub's, read once
    /// here: every task's end asks).
    observed: bool,
}

impl Registry {
    pub(crate) fn new(path: String, shared: Arc<Process>) -> Registry {
        Registry {
            path,
            observed: shared.observer.is_some(),
            shared,
            tasks: Tasks::new(),
        }
    }

    /// Lists `entry` as running until the returned registration is dropped.
    pub(crate) fn register(self: &Arc<Self>, entry: Entry) -> Registration {
        let entry = live::New::at(entry, self.shared.clock.now());
        let place = self.tasks.insert(entry);
        Registration {
            registry: self.clone(),
            place,
        }
    }

    /// Appends what runs here to `out`; `cancelled_at` is when the scope
    /// was cancelled, from which a task's wait is counted.
    pub(crate) fn running(&self, cancelled_at: Option<Instant>, out: &mut Vec<Running>) {
        let now = self.shared.clock.now();
        out.extend(self.tasks.view().iter(now).map(|(e, age)| Running {
            who: e.origin.subject(&self.path, e.kind == Kind::Hook),
            waiting: if e.kind == Kind::Hook {
                Some(age)
            } else {
                cancelled_at.map(|t| t.elapsed())
            },
        }));
    }
}

impl Registry {
    /// One line per live task or running hook, for the task dump.
    pub(crate) fn dump(&self, indent: &str, cancelled_at: Option<Instant>, out: &mut String) {
        use std::fmt::Write as _;
        for (e, age) in self.tasks.view().iter(self.shared.clock.now()) {
            let what = match e.kind {
                Kind::Hook => "hook",
                Kind::Task(Policy::Isolated) => "isolated task",
                Kind::Task(Policy::Essential) => "essential task",
                Kind::Restarted => "restarting task",
                Kind::Task(_) => "task",
            };
            let _ = write!(out, "\n{indent}- {what} `{}`", e.origin.name);
            if let Some(def) = e.origin.defined_at {
                let _ = write!(out, ", defined at {def}");
            }
            let _ = write!(
                out,
                ", spawned at {}, age {}",
                e.origin.spawned_at,
                Secs(age)
            );
            match cancelled_at {
                Some(t) if e.kind != Kind::Hook => {
                    let _ = write!(out, ", cancelled {} ago", Secs(t.elapsed()));
                }
                _ => out.push_str(", running"),
            }
        }
    }
}

/// Keeps a task or hook listed as running until its future ends or is
/// dropped (abort, runtime shutdown).
pub(crate) struct Registration {
    registry: Arc<Registry>,
    place: Place,
}

impl Registration {
    /// Reports the failure of what this registration lists, as its kind
    /// says: critical, isolated, or not at all (a restarted task reported
    /// it already).
    pub(crate) fn fail(&self, failure: FailureKind) {
        let (failure, kind) = {
            let view = self.registry.tasks.view();
            let e = view.get(self.place);
            let hook = e.kind == Kind::Hook;
            let who = e.origin.subject(&self.registry.path, hook);
            (Failure { who, kind: failure }, e.kind)
        };
        match kind {
            Kind::Task(Policy::Critical | Policy::Essential) | Kind::Hook => {
                self.registry.shared.fail(failure)
            }
            Kind::Task(Policy::Isolated) => self.registry.shared.isolated(failure),
            Kind::Restarted => {}
        }
    }
}

impl Registration {
    /// Whether the end of what this lists is watched: a `tracing`
    /// subscriber logs it at debug level, or an observer is told. Then its
    /// name is read, under the lock, as it ends.
    fn watched(&self) -> bool {
        self.registry.observed || tracing::enabled!(tracing::Level::DEBUG)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let tasks = &self.registry.tasks;
        if !self.watched() {
            tasks.end(self.place);
            return;
        }
        let entry = tasks.end_watched(self.place);
        if let Some(observer) = &self.registry.shared.observer {
            let step = match entry.kind {
                Kind::Hook => Step::HookRan,
                _ => Step::TaskEnded,
            };
            observer.observe(step, &entry.name, &self.registry.path);
        }
        if entry.kind != Kind::Hook {
            tracing::debug!(
                task = %entry.name,
                scope = %self.registry.path,
                elapsed = ?self.registry.shared.clock.age(entry.since),
                "task finished"
            );
        }
    }
}

pin_project_lite::pin_project! {
    /// A task's future with its failures reported. Written out rather than
    /// as an `async` block, which would store the task's future twice (once
    /// captured, once inside `catch_unwind`) and double its size.
    pub(crate) struct Guarded<F> {
        #[pin]
        fut: CatchUnwind<AssertUnwindSafe<F>>,
        registration: Registration,
    }
}

impl<F: Future> Guarded<F> {
    pub(crate) fn new(fut: F, registration: Registration) -> Self {
        Guarded {
            fut: AssertUnwindSafe(fut).catch_unwind(),
            registration,
        }
    }
}

impl<F> Future for Guarded<F>
where
    F: Future,
    F::Output: TaskOutput,
{
    type Output = Result<<F::Output as TaskOutput>::Value, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(match ready!(this.fut.poll(cx)) {
            Ok(output) => output.into_result().map_err(|error| {
                this.registration.fail(FailureKind::Error(error.clone()));
                TaskError::Failed(error)
            }),
            Err(payload) => {
                // Right after the unwind stopped, on the thread that
                // panicked, where the panic hook left its location.
                let panic = Panic::caught(payload);
                this.registration.fail(FailureKind::Panic(panic.clone()));
                Err(TaskError::Panicked(panic))
            }
        })
    }
}

mod live;
mod sync;

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    fn guarded_size<F: Future>(_: &F) -> usize {
        size_of::<Guarded<F>>()
    }

    /// The task wrapper stores the task's future once: an `async` block
    /// awaiting `catch_unwind(fut)` would store it twice.
    #[test]
    fn the_wrapper_adds_two_words_to_a_task() {
        let fut = async {
            let buf = [7u8; 512];
            tokio::task::yield_now().await;
            buf.len()
        };
        assert_eq!(
            guarded_size(&fut),
            size_of_val(&fut) + 2 * size_of::<usize>()
        );
    }
}
