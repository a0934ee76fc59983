//! Scopes: a tree of cancellation tokens and task trackers that drains
//! children before parents, then runs the scope's deferred hooks.

use std::borrow::Cow;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::task::{Poll, ready};
use tokio::sync::Notify;
use tokio::time::Instant;

use futures_util::FutureExt as _;
use futures_util::future::CatchUnwind;
use slab::Slab;
use tokio_util::sync::CancellationToken;
use tokio_util::task::{AbortOnDropHandle, TaskTracker};

use crate::report::{Failure, FailureKind, Reason, Running, Site};
use crate::task::{Panic, TaskHandle, TaskOutput};

/// Where the process is in its lifecycle, for readiness checks.
///
/// ```
/// # graceful_runtime::Runtime::new().signals([]).block_on(|ctx| async move {
/// use graceful_runtime::State;
/// assert_eq!(ctx.state(), State::Running);
/// ctx.shutdown();
/// assert_ne!(ctx.state(), State::Running); // readiness answers 503 from now on
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Serving normally: ready.
    Running,
    /// Shutdown was requested; nothing is cancelled yet so load balancers can
    /// stop sending traffic. Not ready.
    LameDuck,
    /// Scopes are being cancelled and drained, and hooks run. Not ready.
    Draining,
}

impl State {
    fn from_u8(v: u8) -> State {
        match v {
            0 => State::Running,
            1 => State::LameDuck,
            _ => State::Draining,
        }
    }
}

/// What every scope of one runtime shares.
pub(crate) struct Shared {
    /// Cancelled when shutdown is requested (signal, `shutdown()`, failure).
    pub(crate) requested: CancellationToken,
    /// Cancelled at the first failure, to cut a lame duck short.
    pub(crate) failed: CancellationToken,
    pub(crate) reason: OnceLock<(Reason, Instant)>,
    state: AtomicU8,
    /// Counts spawns, so that a search for running tasks across the scopes
    /// can tell whether a task was started while it looked.
    spawns: Epoch,
    pub(crate) failures: Mutex<Vec<Failure>>,
    /// Whether a request should pass through the lame duck first.
    lame_duck: bool,
    /// The runtime tasks are spawned on, so a `Context` works from any thread.
    pub(crate) handle: tokio::runtime::Handle,
}

impl Shared {
    pub(crate) fn new(lame_duck: bool, handle: tokio::runtime::Handle) -> Arc<Shared> {
        Arc::new(Shared {
            requested: CancellationToken::new(),
            failed: CancellationToken::new(),
            reason: OnceLock::new(),
            state: AtomicU8::new(State::Running as u8),
            spawns: Epoch::default(),
            failures: Mutex::new(Vec::new()),
            lame_duck,
            handle,
        })
    }

    /// Starts the shutdown; the first reason wins, later ones are ignored.
    pub(crate) fn request(&self, reason: Reason) {
        let lame = self.lame_duck && reason.allows_lame_duck();
        if self.reason.set((reason, Instant::now())).is_ok() {
            let state = if lame {
                State::LameDuck
            } else {
                State::Draining
            };
            self.state.store(state as u8, Ordering::Release);
            self.requested.cancel();
        }
    }

    pub(crate) fn set_state(&self, state: State) {
        self.state.store(state as u8, Ordering::Release);
    }

    pub(crate) fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn reason(&self) -> Option<Reason> {
        self.reason.get().map(|(r, _)| r.clone())
    }

    /// Keeps a failure for the report and starts the shutdown (errgroup).
    pub(crate) fn fail(&self, failure: Failure) {
        tracing::error!(
            task = %failure.task,
            scope = %failure.scope,
            error = %failure.kind,
            "task failed"
        );
        let task = failure.task.clone();
        lock(&self.failures).push(failure);
        self.failed.cancel();
        self.request(Reason::Failed { task });
    }
}

/// A counter on a cache line of its own: spawns bump it, task exits never
/// touch it.
#[derive(Default)]
#[repr(align(64))]
struct Epoch(AtomicU64);

/// A live task or running hook, as the report will name it.
struct Entry {
    name: Cow<'static, str>,
    hook: bool,
    spawned_at: &'static Location<'static>,
    defined_at: Option<&'static Site>,
    since: Option<Instant>,
}

type Hook = (
    Cow<'static, str>,
    &'static Location<'static>,
    Pin<Box<dyn Future<Output = Option<String>> + Send>>,
);

#[derive(Default)]
struct Inner {
    children: Vec<Arc<Scope>>,
    /// Length of `children` after the last pruning, to prune only when doubled.
    pruned_len: usize,
    hooks: Vec<Hook>,
    /// Set once the hooks have run; later hooks run at once as tasks.
    hooks_done: bool,
    /// Children already drained by a drain of this scope.
    drained_children: usize,
}

pub(crate) struct Scope {
    pub(crate) path: String,
    pub(crate) shared: Arc<Shared>,
    pub(crate) token: CancellationToken,
    pub(crate) tracker: TaskTracker,
    /// Set when the scope is cancelled, before `notify` wakes the waiters:
    /// the flag `Context::is_cancelled` reads without taking a lock.
    cancelled_at: OnceLock<Instant>,
    registry: Arc<Registry>,
    /// Woken once, at cancellation. Every `Context::cancelled` waits here
    /// rather than on `token`, whose `is_cancelled` takes a lock that every
    /// task of the scope would contend for when woken.
    pub(crate) notify: Notify,
    inner: Mutex<Inner>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Poisoning cannot leave our tables half-updated; keep going.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running tasks and hooks of one scope, for the report. Tasks hold this
/// rather than the scope, so that a task's exit writes to this lock only and
/// not to the scope's reference count as well.
struct Registry {
    scope: Weak<Scope>,
    live: Mutex<Slab<Entry>>,
}

/// Keeps a task listed as running until its future ends or is dropped
/// (abort, runtime shutdown).
struct Registration {
    registry: Arc<Registry>,
    key: usize,
}

impl Registration {
    fn fail(&self, kind: FailureKind) {
        let (task, spawned_at) = {
            let live = lock(&self.registry.live);
            let e = &live[self.key];
            (e.name.to_string(), e.spawned_at.to_string())
        };
        if let Some(scope) = self.registry.scope.upgrade() {
            scope.shared.fail(Failure {
                task,
                scope: scope.path.clone(),
                spawned_at,
                kind,
            });
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let entry = lock(&self.registry.live).remove(self.key);
        if let Some(started) = entry.since.filter(|_| !entry.hook) {
            tracing::debug!(
                task = %entry.name,
                scope = %self.registry.scope.upgrade().map_or_else(String::new, |s| s.path.clone()),
                elapsed = ?started.elapsed(),
                "task finished"
            );
        }
    }
}

pin_project_lite::pin_project! {
    /// A task's future with its failures reported. Written out rather than
    /// as an `async` block, which would store the task's future twice (once
    /// captured, once inside `catch_unwind`) and double its size.
    struct Guarded<F> {
        #[pin]
        fut: CatchUnwind<AssertUnwindSafe<F>>,
        registration: Registration,
    }
}

impl<F> Future for Guarded<F>
where
    F: Future,
    F::Output: TaskOutput,
{
    type Output = Result<F::Output, Panic>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(match ready!(this.fut.poll(cx)) {
            Ok(output) => {
                if let Some(error) = output.failure() {
                    this.registration.fail(FailureKind::Error(error));
                }
                Ok(output)
            }
            Err(payload) => {
                let panic = Panic::from_payload(payload);
                this.registration.fail(FailureKind::Panic(panic.clone()));
                Err(panic)
            }
        })
    }
}

impl Scope {
    fn new(path: String, shared: Arc<Shared>) -> Arc<Scope> {
        // Closed from the start: `wait` completes whenever the tracker is
        // empty, which both the drain and `all_ended` want.
        let tracker = TaskTracker::new();
        tracker.close();
        Arc::new_cyclic(|scope| Scope {
            path,
            shared,
            // Not a child of the parent's token: `cancel` reaches the child
            // scopes itself, flag and waiters included.
            token: CancellationToken::new(),
            tracker,
            cancelled_at: OnceLock::new(),
            registry: Arc::new(Registry {
                scope: scope.clone(),
                live: Mutex::default(),
            }),
            notify: Notify::new(),
            inner: Mutex::new(Inner::default()),
        })
    }

    pub(crate) fn root(shared: Arc<Shared>, name: &str) -> Arc<Scope> {
        Scope::new(name.to_owned(), shared)
    }

    pub(crate) fn child(self: &Arc<Self>, name: &str) -> Arc<Scope> {
        let child = Scope::new(format!("{}/{}", self.path, name), self.shared.clone());
        let mut inner = lock(&self.inner);
        // Checked under the lock `cancel` sets the flag under: a child is
        // either born cancelled or reached by its parent's cancellation.
        if self.is_cancelled() {
            // Born cancelled: tasks spawned here still run and are awaited.
            child.cancel();
        }
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

    fn register(&self, entry: Entry) -> Registration {
        let key = lock(&self.registry.live).insert(entry);
        Registration {
            registry: self.registry.clone(),
            key,
        }
    }

    /// Starts `fut` as a tracked task of this scope.
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        name: Cow<'static, str>,
        spawned_at: &'static Location<'static>,
        defined_at: Option<&'static Site>,
        fut: F,
    ) -> TaskHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let since = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
        let registration = self.register(Entry {
            name,
            hook: false,
            spawned_at,
            defined_at,
            since,
        });
        let task = Guarded {
            fut: AssertUnwindSafe(fut).catch_unwind(),
            registration,
        };
        let task = self.tracker.track_future(task);
        // After the tracker counts the task (see `all_ended`).
        self.shared.spawns.0.fetch_add(1, Ordering::SeqCst);
        TaskHandle {
            join: self.shared.handle.spawn(task),
        }
    }

    pub(crate) fn defer<F>(
        self: &Arc<Self>,
        name: Cow<'static, str>,
        at: &'static Location<'static>,
        hook: F,
    ) where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let mut inner = lock(&self.inner);
        if inner.hooks_done {
            drop(inner);
            // Too late to run in order: run at once, still tracked and reported.
            self.spawn(name, at, None, hook);
            return;
        }
        let hook = async move { hook.await.failure() };
        inner.hooks.push((name, at, Box::pin(hook)));
    }

    pub(crate) fn cancelled_at(&self) -> Option<Instant> {
        self.cancelled_at.get().copied()
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled_at.get().is_some()
    }

    /// Cancels this scope's tasks and those of every child scope not
    /// cancelled yet (a child created after the drain took the list of
    /// children). The flag is set before the waiters wake.
    fn cancel(&self) {
        let children = {
            let inner = lock(&self.inner);
            if self.cancelled_at.set(Instant::now()).is_err() {
                return;
            }
            inner.children.clone()
        };
        self.notify.notify_waiters();
        self.token.cancel();
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
            let spawns = self.shared.spawns.0.load(Ordering::SeqCst);
            match self.busy() {
                Some(scope) => scope.tracker.wait().await,
                // A task started while we looked may sit in a scope already
                // looked at; look again.
                None if self.shared.spawns.0.load(Ordering::SeqCst) != spawns => {}
                None => return,
            }
        }
    }

    /// A scope of this subtree that has a running task.
    fn busy(self: &Arc<Self>) -> Option<Arc<Scope>> {
        if !self.tracker.is_empty() {
            return Some(self.clone());
        }
        lock(&self.inner).children.iter().find_map(Scope::busy)
    }

    /// Cancels and awaits, in order: the child scopes (concurrently), this
    /// scope's own tasks, then this scope's hooks, last registered first.
    pub(crate) fn drain(self: Arc<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let mut own_cancelled = false;
            loop {
                let children: Vec<_> = {
                    let mut inner = lock(&self.inner);
                    let from = inner.drained_children;
                    inner.drained_children = inner.children.len();
                    inner.children[from..].to_vec()
                };
                let new_children = !children.is_empty();
                // Sibling subtrees drain in parallel, each on its own task.
                let handle = &self.shared.handle;
                let drains: Vec<_> = children
                    .into_iter()
                    .map(|c| AbortOnDropHandle::new(handle.spawn(c.drain())))
                    .collect();
                for drain in drains {
                    let _ = drain.await;
                }
                if !own_cancelled {
                    own_cancelled = true;
                    tracing::info!(scope = %self.path, tasks = self.tracker.len(), "draining scope");
                    self.cancel();
                } else if !new_children {
                    break;
                }
                self.tracker.wait().await;
            }
            self.run_hooks().await;
            tracing::debug!(scope = %self.path, "scope drained");
        })
    }

    async fn run_hooks(self: &Arc<Self>) {
        loop {
            let Some((name, at, hook)) = ({
                let mut inner = lock(&self.inner);
                let next = inner.hooks.pop();
                inner.hooks_done = next.is_none();
                next
            }) else {
                return;
            };
            tracing::info!(hook = %name, scope = %self.path, "running hook");
            let registration = self.register(Entry {
                name,
                hook: true,
                spawned_at: at,
                defined_at: None,
                since: Some(Instant::now()),
            });
            match AssertUnwindSafe(hook).catch_unwind().await {
                Ok(None) => {}
                Ok(Some(error)) => registration.fail(FailureKind::Error(error)),
                Err(payload) => registration.fail(FailureKind::Panic(Panic::from_payload(payload))),
            }
        }
    }

    /// Every task and hook of this scope and its children still running.
    pub(crate) fn running(&self, out: &mut Vec<Running>) {
        let cancelled_at = self.cancelled_at();
        out.extend(lock(&self.registry.live).iter().map(|(_, e)| Running {
            name: e.name.to_string(),
            hook: e.hook,
            scope: self.path.clone(),
            spawned_at: e.spawned_at.to_string(),
            defined_at: e.defined_at.map(Site::to_string),
            waiting: if e.hook { e.since } else { cancelled_at }.map(|t| t.elapsed()),
        }));
        for child in &lock(&self.inner).children {
            child.running(out);
        }
    }
}

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
