//! How tasks start, behind the `spawn` methods (which stay in the
//! type's own file, so that a bound they require is named in a compile
//! error as `Context::spawn`, not by this module's path): every spawn goes
//! through [`Context::spawn_at`] or [`Context::spawn_restarting_at`].

use std::future::Future;
use std::panic::AssertUnwindSafe;

use super::Context;
use super::restarting::{RestartLog, restarting};
use crate::failure::Error;
use crate::panic::Panic;
use crate::policy::{Policy, Restart};
use crate::report::Reason;
use crate::task::{TaskHandle, TaskOutput};
use crate::tracked::{Kind, Origin};

impl Context {
    /// The one way into spawning: the `spawn` methods, the task macro and
    /// the runtime's root task all come through here. Without a policy, the
    /// scope's default applies.
    #[inline]
    pub(crate) fn spawn_at<F>(
        &self,
        origin: Origin,
        policy: Option<Policy>,
        fut: F,
    ) -> TaskHandle<<F::Output as TaskOutput>::Value>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let policy = policy.unwrap_or_else(|| self.scope.default_policy());
        if policy == Policy::Essential {
            return self.spawn_essential(origin, fut);
        }
        self.scope.spawn(origin, Kind::Task(policy), fut)
    }

    /// Out of the way of every other spawn, which inlines `spawn_at`.
    #[cold]
    #[inline(never)]
    fn spawn_essential<F>(
        &self,
        origin: Origin,
        fut: F,
    ) -> TaskHandle<<F::Output as TaskOutput>::Value>
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        let fut = self.ending_the_process(&origin, fut);
        self.scope.spawn(origin, Kind::Task(Policy::Essential), fut)
    }

    /// `fut`, as an essential task: its failure is critical (as the
    /// registry reports it); its end without one starts the shutdown.
    fn ending_the_process<F>(
        &self,
        origin: &Origin,
        fut: F,
    ) -> impl Future<Output = Result<<F::Output as TaskOutput>::Value, Error>> + use<F>
    where
        F: Future,
        F::Output: TaskOutput,
    {
        let shared = self.scope.shared().clone();
        let task = origin.name.to_string();
        async move {
            let output = fut.await.into_result();
            if output.is_ok() {
                shared.request(Reason::Ended { task });
            }
            output
        }
    }

    /// Starts the futures `factory` makes, one after the other, as one
    /// task restarted as `restart` says; see [`spawn_restarting`](Self::spawn_restarting).
    pub(crate) fn spawn_restarting_at<F, Fut>(
        &self,
        origin: Origin,
        restart: Restart,
        factory: F,
    ) -> TaskHandle<<Fut::Output as TaskOutput>::Value>
    where
        F: FnMut(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let log = RestartLog::new(
            Origin {
                name: origin.name.clone(),
                ..origin
            },
            self.path().to_owned(),
            self.scope.shared().clone(),
        );
        let task = restarting(self.clone(), restart, factory, log);
        let task = async move { task.await.unwrap_or_else(|panic| panic.resume()) };
        self.scope.spawn(origin, Kind::Restarted, task)
    }

    /// The task of [`spawn_blocking`](Self::spawn_blocking): `f` run on
    /// the runtime's blocking pool and awaited. A panic is caught on the
    /// blocking thread, where its location is known, and raised again in
    /// the task, which reports it.
    pub(super) fn on_blocking_pool<F, O>(&self, f: F) -> impl Future<Output = O> + Send + use<F, O>
    where
        F: FnOnce(Context) -> O + Send + 'static,
        O: TaskOutput,
    {
        let (ctx, pool) = (self.clone(), self.scope.shared().handle.clone());
        async move {
            let run = move || {
                std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx))).map_err(Panic::caught)
            };
            match pool.spawn_blocking(run).await {
                Ok(Ok(output)) => output,
                Ok(Err(panic)) => panic.resume(),
                Err(_) => panic!("the runtime shut down before the blocking task ran"),
            }
        }
    }

    /// [`spawn_local`](Self::spawn_local) with its origin, under the
    /// scope's default policy.
    pub(super) fn spawn_local_at<F>(
        &self,
        origin: Origin,
        fut: F,
    ) -> TaskHandle<<F::Output as TaskOutput>::Value>
    where
        F: Future + 'static,
        F::Output: TaskOutput,
    {
        match self.scope.default_policy() {
            Policy::Essential => {
                let fut = self.ending_the_process(&origin, fut);
                self.scope
                    .spawn_local(origin, Kind::Task(Policy::Essential), fut)
            }
            policy => self.scope.spawn_local(origin, Kind::Task(policy), fut),
        }
    }
}
