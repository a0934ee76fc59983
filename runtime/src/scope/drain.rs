//! The drain of a scope: its children, then its own tasks, then its
//! hooks, once, within its drain budget, after the scopes it was told to
//! drain after.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;

use super::Scope;
use crate::failure::{Failure, FailureKind, caught};
use crate::observe::Step;
use crate::sync::lock;
use crate::tracked::{Entry, Kind, Origin};

impl Scope {
    /// Makes this scope's drain wait for `other`'s drain (which it starts,
    /// if nothing did yet). Refused, naming both, when `other` is this
    /// scope, one of its ancestors, or already drains after this one:
    /// either would wait for itself.
    pub(crate) fn drain_after(&self, other: &Arc<Scope>) -> Result<(), String> {
        let refuse = |why: &str| {
            Err(format!(
                "scope `{}` cannot drain after `{}`: {why}",
                self.path(),
                other.path()
            ))
        };
        if std::ptr::eq(self, &**other) {
            return refuse("it is the same scope");
        }
        let mut up = self.parent.as_ref().and_then(Weak::upgrade);
        while let Some(scope) = up {
            if Arc::ptr_eq(&scope, other) {
                return refuse(
                    "a scope drains its children first, so it cannot wait for an ancestor's drain",
                );
            }
            up = scope.parent.as_ref().and_then(Weak::upgrade);
        }
        if other.waits_for(self) {
            return refuse("that one already drains after this one");
        }
        lock(&self.inner).after.push(other.clone());
        Ok(())
    }

    /// Whether this scope's drain waits, directly or not, for `scope`'s.
    fn waits_for(&self, scope: &Scope) -> bool {
        let after = lock(&self.inner).after.clone();
        after
            .iter()
            .any(|s| std::ptr::eq(&**s, scope) || s.waits_for(scope))
    }

    /// Cancels and awaits, in order: the child scopes (concurrently), this
    /// scope's own tasks, then this scope's hooks, last registered first.
    /// Past the scope's drain budget, the tasks still running are reported
    /// and abandoned, and the hooks run. A scope drains once: a second call
    /// waits for the first.
    pub(crate) fn drain(self: Arc<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let (budget, after) = {
                let inner = lock(&self.inner);
                (inner.budget, inner.after.clone())
            };
            self.drained
                .get_or_init(|| async {
                    // The scopes this one drains after, first (each drains
                    // once: this starts or joins its drain).
                    for scope in after {
                        scope.drain().await;
                    }
                    let began = Instant::now();
                    match budget {
                        None => self.stop().await,
                        Some(budget) => {
                            if tokio::time::timeout(budget, self.stop()).await.is_err() {
                                self.abandon(began);
                            }
                        }
                    }
                    self.run_hooks().await;
                    tracing::debug!(scope = %self.path(), "scope drained");
                    if let Some(observer) = &self.shared().observer {
                        observer.observe(Step::ScopeDrained, self.path(), self.path());
                    }
                })
                .await;
        })
    }

    /// Cancels and awaits the child scopes (concurrently), then every task
    /// of the subtree, then drains the children created meanwhile, until
    /// none is left. Waiting for the whole subtree, not only this scope's
    /// tasks, matters when a task filled a child scope after that child
    /// drained (it was still empty then): its late tasks end before this
    /// scope's hooks run.
    async fn stop(self: &Arc<Self>) {
        let mut cancelled = false;
        loop {
            let children: Vec<_> = {
                let mut inner = lock(&self.inner);
                let from = inner.drained_children;
                inner.drained_children = inner.children.len();
                inner.children[from..].to_vec()
            };
            let new_children = !children.is_empty();
            // Sibling subtrees drain in parallel, each on its own task.
            let handle = &self.shared().handle;
            let drains: Vec<_> = children
                .into_iter()
                .map(|c| AbortOnDropHandle::new(handle.spawn(c.drain())))
                .collect();
            for drain in drains {
                let _ = drain.await;
            }
            if !cancelled {
                cancelled = true;
                tracing::info!(scope = %self.path(), tasks = self.tracker.len(), "draining scope");
                self.cancel();
            } else if !new_children {
                return;
            }
            self.all_ended().await;
        }
    }

    /// The drain budget passed: every task still running in this subtree
    /// is reported (a critical failure during the process-wide drain, an
    /// isolated one during a partial shutdown) and no longer waited for.
    fn abandon(&self, began: Instant) {
        let mut running = Vec::new();
        self.running(&mut running);
        self.abandoned.store(true, Ordering::Release);
        let shared = self.shared();
        let partial = !shared.state().is_shutting_down();
        for task in running.into_iter().filter(|r| !r.who.hook) {
            tracing::error!(task = %task.who.name, scope = %task.who.scope, "abandoned: the scope's drain budget passed");
            let failure = Failure {
                who: task.who,
                kind: FailureKind::Abandoned {
                    after: began.elapsed(),
                },
            };
            if partial {
                shared.isolated(failure);
            } else {
                shared.fail(failure);
            }
        }
    }

    /// Runs the hooks, last registered first; then drains the child scopes
    /// created since `stop` last took them (while a hook ran, or by code
    /// outside this subtree, such as an acceptor in the root that makes a
    /// scope per connection here). Those are not drained otherwise: this
    /// scope drains once. A child created later still is born with its
    /// hooks done (`Scope::child`), so its hooks run as they are deferred.
    async fn run_hooks(self: &Arc<Self>) {
        loop {
            let next = {
                let mut inner = lock(&self.inner);
                let next = inner.hooks.pop();
                inner.hooks_done = next.is_none();
                next.ok_or_else(|| {
                    let from = inner.drained_children;
                    inner.drained_children = inner.children.len();
                    inner.children[from..].to_vec()
                })
            };
            let (name, at, hook) = match next {
                Ok(hook) => hook,
                Err(late) => {
                    for child in late {
                        child.drain().await;
                    }
                    return;
                }
            };
            tracing::info!(hook = %name, scope = %self.path(), "running hook");
            let registration = self.registry.register(Entry {
                origin: Origin::new(name, at),
                kind: Kind::Hook,
            });
            if let Some(failure) = caught(hook).await {
                registration.fail(failure);
            }
        }
    }
}
