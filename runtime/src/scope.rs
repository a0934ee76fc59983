//! Scopes: a tree of groups of tasks, each with its own cancellation and
//! teardown hooks, drained children first, then its own tasks, then its
//! hooks, last registered first.
//!
//! # Invariants
//!
//! - **Cancelled is one fact**: `cancelled_at`, set once. `notify` (woken
//!   right after it is set) and the optional `CancellationToken` handed out
//!   by [`Scope::token`] only tell waiters about it.
//! - `cancelled_at` is set under the scope's `inner` lock, and a child is
//!   added under that lock too: a child is either born cancelled or in the
//!   list that [`Scope::cancel`] walks, so no child of a cancelled scope is
//!   ever left running uncancelled.
//! - The tracker is closed from birth, so `wait` completes whenever no task
//!   of the scope runs (the drain and "every task ended" both want that).
//!   A task spawned into a cancelled scope still runs and is awaited.
//! - Hooks run once, after the tasks of the scope's subtree ended; a hook
//!   deferred after that runs at once as a task (`hooks_done`), and so do
//!   the hooks of a child created after that.
//! - A scope's hooks wait for every task of its subtree, including tasks
//!   that a task filled into a child scope after that child drained.
//! - Children are pruned (dropped when nothing refers to them any more)
//!   only before a drain began, so the drain's index into the list of
//!   children stays valid.
//! - A scope drains once (`drained`): a partial shutdown
//!   (`Context::drain`) and the process-wide drain that reaches the scope
//!   later share one drain, so hooks never run twice or out of order.
//! - An abandoned scope (its drain budget passed) no longer counts as
//!   busy: its stuck tasks were reported and are left to the exit.
//!
//! # Lock order
//!
//! A parent's `inner` before a child's `inner` (pruning, `busy`, `running`
//! and `child` hold the parent's while they lock children). The registry's
//! `live` lock and the process-wide failures lock are leaves: nothing else
//! is locked while they are held. No lock is held across an `.await`.

use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::{Notify, OnceCell};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TrackedFuture;

use crate::failure::{Error, Note, Running};
use crate::policy::Policy;
use crate::process::Process;
use crate::sync::lock;
use crate::task::{TaskHandle, TaskOutput};
use crate::tracked::{Entry, Guarded, Kind, Origin, Registry};

type DeferredHook = (
    Cow<'static, str>,
    &'static Location<'static>,
    Pin<Box<dyn Future<Output = Option<Error>> + Send>>,
);

#[derive(Default)]
struct Inner {
    children: Vec<Arc<Scope>>,
    /// Length of `children` after the last pruning, to prune only when doubled.
    pruned_len: usize,
    hooks: Vec<DeferredHook>,
    /// Set once the hooks have run; later hooks run at once as tasks.
    hooks_done: bool,
    /// Children already drained by a drain of this scope.
    drained_children: usize,
    /// Handed out by [`Scope::token`], created on first use.
    token: Option<CancellationToken>,
    /// How long stopping this scope's children and tasks may take.
    budget: Option<Duration>,
    /// What the scope says it has in flight, for reports.
    describers: Vec<Describer>,
    /// The scopes whose drain comes before this one's.
    after: Vec<Arc<Scope>>,
}

/// Lines a scope adds to the task dump and the report of an aborted
/// shutdown: what a server has in flight, say.
pub(crate) type Describer = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

pub(crate) struct Scope {
    tracker: TaskTracker,
    /// When the scope was cancelled: the flag `Context::is_cancelled` reads
    /// without taking a lock. Set before `notify` wakes the waiters.
    cancelled_at: OnceLock<Instant>,
    /// The path, the lifecycle, and the live tasks.
    registry: Arc<Registry>,
    /// Woken once, at cancellation. Every `Context::cancelled` waits here:
    /// a `CancellationToken`'s wait would take a lock that every task of the
    /// scope contends for when woken.
    pub(crate) notify: Notify,
    inner: Mutex<Inner>,
    /// The policy of tasks spawned here without one; children inherit it.
    default_policy: AtomicU8,
    /// Set once the drain has run (see the invariants).
    drained: OnceCell<()>,
    /// Set when the drain budget passed with tasks still running.
    abandoned: AtomicBool,
    /// The tasks to abort with the scope, once it is made abortable
    /// (nothing is kept for the others).
    aborts: OnceLock<Mutex<abort::Aborts>>,
    /// The scope this one is a child of (none for the root).
    parent: Option<Weak<Scope>>,
}

impl Scope {
    fn new(
        path: String,
        shared: Arc<Process>,
        policy: Policy,
        parent: Option<Weak<Scope>>,
    ) -> Arc<Scope> {
        let tracker = TaskTracker::new();
        tracker.close();
        Arc::new(Scope {
            tracker,
            cancelled_at: OnceLock::new(),
            registry: Arc::new(Registry::new(path, shared)),
            notify: Notify::new(),
            inner: Mutex::new(Inner::default()),
            default_policy: AtomicU8::new(policy as u8),
            drained: OnceCell::new(),
            abandoned: AtomicBool::new(false),
            aborts: OnceLock::new(),
            parent,
        })
    }

    pub(crate) fn root(shared: Arc<Process>, name: &str) -> Arc<Scope> {
        Scope::new(name.to_owned(), shared, Policy::Critical, None)
    }

    pub(crate) fn default_policy(&self) -> Policy {
        Policy::from_u8(self.default_policy.load(Ordering::Relaxed))
    }

    pub(crate) fn set_default_policy(&self, policy: Policy) {
        self.default_policy.store(policy as u8, Ordering::Relaxed);
    }

    pub(crate) fn set_drain_budget(&self, budget: Duration) {
        lock(&self.inner).budget = Some(budget);
    }

    pub(crate) fn path(&self) -> &str {
        &self.registry.path
    }

    #[inline]
    pub(crate) fn shared(&self) -> &Arc<Process> {
        &self.registry.shared
    }

    pub(crate) fn child(self: &Arc<Self>, name: &str) -> Arc<Scope> {
        let path = format!("{}/{name}", self.path());
        let parent = Some(Arc::downgrade(self));
        let child = Scope::new(path, self.shared().clone(), self.default_policy(), parent);
        let mut inner = lock(&self.inner);
        if self.is_cancelled() {
            // Born cancelled: tasks spawned here still run and are awaited.
            child.cancel();
        }
        if inner.hooks_done {
            // Nothing drains a child of a drained scope: its hooks, like
            // the parent's late ones, run at once as tasks.
            lock(&child.inner).hooks_done = true;
        }
        self.pass_abortable_to(&child);
        if inner.children.len() >= 2 * inner.pruned_len.max(8) && inner.drained_children == 0 {
            // Forget finished scopes nobody can use any more, so that a scope
            // per connection or per request does not grow the tree forever.
            inner.children.retain(|c| !c.is_spent());
            inner.pruned_len = inner.children.len();
        }
        inner.children.push(child.clone());
        child
    }

    /// No context, task or hook refers to this scope or its children.
    fn is_spent(self: &Arc<Self>) -> bool {
        if Arc::strong_count(self) > 1 || !self.tracker.is_empty() {
            return false;
        }
        let inner = lock(&self.inner);
        inner.hooks.is_empty() && inner.children.iter().all(Scope::is_spent)
    }

    /// Starts `fut` as a tracked task of this scope, its failure reported
    /// as `kind` says.
    pub(crate) fn spawn<F>(
        &self,
        origin: Origin,
        kind: Kind,
        fut: F,
    ) -> TaskHandle<<F::Output as TaskOutput>::Value>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let join = self.shared().handle.spawn(self.track(origin, kind, fut));
        self.keep_to_abort(&join);
        TaskHandle { join }
    }

    /// `fut` as a task of this scope: listed, reported, counted.
    #[inline]
    fn track<F>(&self, origin: Origin, kind: Kind, fut: F) -> TrackedFuture<Guarded<F>>
    where
        F: Future,
        F::Output: TaskOutput,
    {
        let registration = self.registry.register(Entry { origin, kind });
        let task = self.tracker.track_future(Guarded::new(fut, registration));
        // After the tracker counts the task (see `all_ended`).
        self.shared().count_spawn();
        task
    }

    /// Starts `fut`, which need not be `Send`, as a tracked task of this
    /// scope on the current `LocalSet`, as [`spawn`](Self::spawn) does.
    pub(crate) fn spawn_local<F>(
        &self,
        origin: Origin,
        kind: Kind,
        fut: F,
    ) -> TaskHandle<<F::Output as TaskOutput>::Value>
    where
        F: Future + 'static,
        F::Output: TaskOutput,
    {
        let join = tokio::task::spawn_local(self.track(origin, kind, fut));
        self.keep_to_abort(&join);
        TaskHandle { join }
    }

    pub(crate) fn defer<F>(&self, name: Cow<'static, str>, at: &'static Location<'static>, hook: F)
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let mut inner = lock(&self.inner);
        if inner.hooks_done {
            drop(inner);
            // Too late to run in order: run at once, still tracked and reported.
            let origin = Origin::new(name, at);
            self.spawn(origin, Kind::Hook, hook);
            return;
        }
        let hook = async move { hook.await.into_result().err() };
        inner.hooks.push((name, at, Box::pin(hook)));
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled_at.get().is_some()
    }

    /// A token cancelled with this scope, for code that wants one.
    pub(crate) fn token(&self) -> CancellationToken {
        let mut inner = lock(&self.inner);
        let token = inner.token.get_or_insert_with(CancellationToken::new);
        if self.is_cancelled() {
            token.cancel();
        }
        token.clone()
    }

    /// Cancels this scope's tasks and those of every child scope not
    /// cancelled yet (a child created after the drain took the list of
    /// children). The flag is set before the waiters wake.
    pub(crate) fn cancel(&self) {
        let (children, token) = {
            let inner = lock(&self.inner);
            if self.cancelled_at.set(Instant::now()).is_err() {
                return;
            }
            (inner.children.clone(), inner.token.clone())
        };
        self.notify.notify_waiters();
        if let Some(token) = token {
            token.cancel();
        }
        for child in children {
            child.cancel();
        }
    }

    /// Completes once no task of this scope or its descendants runs: every
    /// task ended by itself (errgroup's `Wait`), or the drain is over and
    /// tasks started late have ended too. Waiting on one shared counter
    /// instead would cost every task's exit a write to a shared cache line.
    pub(crate) async fn all_ended(self: &Arc<Self>) {
        loop {
            let spawns = self.shared().spawned();
            match self.busy() {
                Some(scope) => scope.tracker.wait().await,
                // A task started while we looked may sit in a scope already
                // looked at; look again.
                None if self.shared().spawned() != spawns => {}
                None => return,
            }
        }
    }

    /// A scope of this subtree that has a running task.
    fn busy(self: &Arc<Self>) -> Option<Arc<Scope>> {
        if self.abandoned.load(Ordering::Acquire) {
            return None;
        }
        if !self.tracker.is_empty() {
            return Some(self.clone());
        }
        lock(&self.inner).children.iter().find_map(Scope::busy)
    }

    /// Every task and hook of this scope and its children still running.
    pub(crate) fn running(&self, out: &mut Vec<Running>) {
        self.registry.running(self.cancelled_at.get().copied(), out);
        for child in &lock(&self.inner).children {
            child.running(out);
        }
    }

    pub(crate) fn describe(&self, describer: Describer) {
        lock(&self.inner).describers.push(describer);
    }

    /// What this scope and its children describe, scope by scope. The
    /// describers run without a lock held.
    pub(crate) fn notes(&self, out: &mut Vec<Note>) {
        let (describers, children) = {
            let inner = lock(&self.inner);
            (inner.describers.clone(), inner.children.clone())
        };
        let lines: Vec<String> = describers.iter().flat_map(|d| d()).collect();
        if !lines.is_empty() {
            out.push(Note {
                scope: self.path().to_owned(),
                lines,
            });
        }
        for child in children {
            child.notes(out);
        }
    }

    /// How many child scopes this scope keeps (finished ones are pruned).
    #[cfg(test)]
    fn children(&self) -> usize {
        lock(&self.inner).children.len()
    }
}

mod abort;
mod drain;
mod dump;
#[cfg(test)]
mod tests;
