//! Reload hooks: what runs on `SIGHUP` once a hook exists (re-read the
//! configuration, reopen log files), without shutting anything down.

use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::console::console;
use crate::failure::{Error, Failure, Subject, caught};
use crate::sync::lock;
use crate::task::TaskOutput;

type ReloadFn = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<Error>> + Send>> + Send + Sync>;

/// A registered reload hook.
#[derive(Clone)]
struct ReloadHook {
    name: Cow<'static, str>,
    at: &'static Location<'static>,
    /// The path of the scope that registered it, where its failures are
    /// reported.
    scope: String,
    run: ReloadFn,
}

/// The reload hooks of a process, run one after the other in the order
/// they were registered; one reload at a time.
#[derive(Default)]
pub(crate) struct Reloads {
    hooks: Mutex<Vec<ReloadHook>>,
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl Reloads {
    pub(crate) fn add<F, Fut>(
        &self,
        name: Cow<'static, str>,
        at: &'static Location<'static>,
        scope: String,
        f: F,
    ) where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let run: ReloadFn = Arc::new(move || {
            let fut = f();
            Box::pin(async move { fut.await.into_result().err() })
        });
        lock(&self.hooks).push(ReloadHook {
            name,
            at,
            scope,
            run,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        lock(&self.hooks).is_empty()
    }

    /// Runs every hook once, after a reload in progress, if any. A hook
    /// that fails is said on stderr at once and handed to `isolated` (an
    /// isolated failure: the process goes on with what it had).
    pub(crate) async fn run(&self, isolated: impl Fn(Failure)) {
        let _one = self.one_at_a_time.lock().await;
        let hooks = lock(&self.hooks).clone();
        for hook in hooks {
            tracing::info!(hook = %hook.name, "reloading");
            let Some(failure) = caught((hook.run)()).await else {
                continue;
            };
            // The operator who asked for the reload reads it now, not in
            // the report at exit.
            console(format_args!(
                "graceful: reload hook `{}` {failure}; the process goes on with what it had",
                hook.name
            ));
            let who = Subject {
                name: format!("reload: {}", hook.name),
                scope: hook.scope.clone(),
                spawned_at: hook.at.to_string(),
                defined_at: None,
                hook: false,
            };
            isolated(Failure { who, kind: failure });
        }
    }
}
