//! Scopes: a tree of cancellation tokens and task trackers that drains
//! children before parents, then runs the scope's deferred hooks.

use std::borrow::Cow;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use tokio::time::Instant;

use futures_util::FutureExt as _;
use slab::Slab;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
    /// Tracks every task of every scope, to notice when all ended by themselves.
    pub(crate) all: TaskTracker,
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
            all: TaskTracker::new(),
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
    live: Slab<Entry>,
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
    cancelled_at: OnceLock<Instant>,
    inner: Mutex<Inner>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Poisoning cannot leave our tables half-updated; keep going.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Deregisters a task when its future ends or is dropped (abort, runtime shutdown).
struct Registration {
    scope: Arc<Scope>,
    key: usize,
}

impl Registration {
    fn fail(&self, kind: FailureKind) {
        let (name, spawned_at) = {
            let inner = lock(&self.scope.inner);
            let e = &inner.live[self.key];
            (e.name.to_string(), e.spawned_at)
        };
        self.scope.shared.fail(Failure {
            task: name,
            scope: self.scope.path.clone(),
            spawned_at: spawned_at.to_string(),
            kind,
        });
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let entry = lock(&self.scope.inner).live.remove(self.key);
        if let Some(started) = entry.since.filter(|_| !entry.hook) {
            tracing::debug!(
                task = %entry.name,
                scope = %self.scope.path,
                elapsed = ?started.elapsed(),
                "task finished"
            );
        }
    }
}

impl Scope {
    pub(crate) fn root(shared: Arc<Shared>, name: &str) -> Arc<Scope> {
        Arc::new(Scope {
            path: name.to_owned(),
            shared,
            token: CancellationToken::new(),
            tracker: TaskTracker::new(),
            cancelled_at: OnceLock::new(),
            inner: Mutex::new(Inner::default()),
        })
    }

    pub(crate) fn child(self: &Arc<Self>, name: &str) -> Arc<Scope> {
        let child = Arc::new(Scope {
            path: format!("{}/{}", self.path, name),
            shared: self.shared.clone(),
            token: self.token.child_token(),
            tracker: TaskTracker::new(),
            cancelled_at: OnceLock::new(),
            inner: Mutex::new(Inner::default()),
        });
        if self.token.is_cancelled() {
            // Born cancelled: tasks spawned here still run and are awaited.
            child.tracker.close();
            let _ = child.cancelled_at.set(Instant::now());
        }
        let mut inner = lock(&self.inner);
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

    fn register(self: &Arc<Self>, entry: Entry) -> Registration {
        let key = lock(&self.inner).live.insert(entry);
        Registration {
            scope: self.clone(),
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
        let task = async move {
            let registration = registration;
            match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(output) => {
                    if let Some(error) = output.failure() {
                        registration.fail(FailureKind::Error(error));
                    }
                    Ok(output)
                }
                Err(payload) => {
                    let panic = Panic::from_payload(payload);
                    registration.fail(FailureKind::Panic(panic.clone()));
                    Err(panic)
                }
            }
        };
        let task = self
            .shared
            .all
            .track_future(self.tracker.track_future(task));
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
                    .map(|c| handle.spawn(c.drain()))
                    .collect();
                for drain in drains {
                    let _ = drain.await;
                }
                if !own_cancelled {
                    own_cancelled = true;
                    tracing::info!(scope = %self.path, tasks = self.tracker.len(), "draining scope");
                    let _ = self.cancelled_at.set(Instant::now());
                    self.token.cancel();
                    self.tracker.close();
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
        let inner = lock(&self.inner);
        let cancelled_at = self.cancelled_at();
        out.extend(inner.live.iter().map(|(_, e)| Running {
            name: e.name.to_string(),
            hook: e.hook,
            scope: self.path.clone(),
            spawned_at: e.spawned_at.to_string(),
            defined_at: e.defined_at.map(Site::to_string),
            waiting: if e.hook { e.since } else { cancelled_at }.map(|t| t.elapsed()),
        }));
        for child in &inner.children {
            child.running(out);
        }
    }
}
