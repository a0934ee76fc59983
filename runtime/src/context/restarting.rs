//! A restarted task's runs: started again after a backoff while its
//! [`Restart`] allows, escalated as critical past it, each step logged and
//! kept for the report.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::time::Instant;

use crate::console::{Count, Secs};
use crate::context::Context;
use crate::failure::{Error, Failure, FailureKind, Restarted};
use crate::panic::Panic;
use crate::policy::{Restart, random};
use crate::process::Process;
use crate::task::TaskOutput;
use crate::tracked::Origin;

/// Where a restarted task reports what happens to it: tracing events, its
/// record in the final report, and the escalation.
pub(crate) struct RestartLog {
    pub(crate) origin: Origin,
    pub(crate) scope: String,
    pub(crate) shared: Arc<Process>,
    /// Its record among the lifecycle's restarts, once it has one.
    index: Option<usize>,
}

impl RestartLog {
    pub(crate) fn new(origin: Origin, scope: String, shared: Arc<Process>) -> RestartLog {
        RestartLog {
            origin,
            scope,
            shared,
            index: None,
        }
    }

    fn record(
        &mut self,
        restarts: u32,
        last_failure: Option<FailureKind>,
        gave_up: Option<String>,
    ) {
        let record = Restarted {
            who: self.origin.subject(&self.scope, false),
            restarts,
            last_failure,
            gave_up,
        };
        self.index = Some(self.shared.restarted(self.index, record));
    }

    /// It failed (or returned), and its run number `restarts + 1` starts
    /// after `delay`.
    fn restarting(&self, restarts: u32, failure: Option<&FailureKind>, delay: Duration) {
        let why = failure.map_or_else(|| "returned".to_owned(), ToString::to_string);
        tracing::warn!(
            task = %self.origin.name,
            scope = %self.scope,
            restarts,
            ?delay,
            error = %why,
            "restarting task"
        );
    }

    /// It failed past its restart intensity, or while the process shuts
    /// down: the failure escalates as critical.
    fn escalate(&mut self, restarts: u32, failure: FailureKind, why: String) {
        if restarts > 0 {
            self.record(restarts, Some(failure.clone()), Some(why));
        }
        self.shared.fail(Failure {
            who: self.origin.subject(&self.scope, false),
            kind: failure,
        });
    }
}

/// Runs `factory`'s futures one after the other as `restart` says, until
/// one ends without needing a restart (its output is the task's output) or
/// the failure escalates (the last output, or the last panic).
pub(crate) async fn restarting<F, Fut>(
    ctx: Context,
    restart: Restart,
    mut factory: F,
    mut log: RestartLog,
) -> Result<Result<<Fut::Output as TaskOutput>::Value, Error>, Panic>
where
    F: FnMut(Context) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: TaskOutput,
{
    let mut recent: VecDeque<Instant> = VecDeque::new();
    let mut consecutive = 0u32;
    let mut restarts = 0u32;
    loop {
        let started = Instant::now();
        let attempt = AssertUnwindSafe(factory(ctx.clone())).catch_unwind().await;
        let (output, failure) = match attempt {
            Ok(output) => {
                let output = output.into_result();
                let failure = output.as_ref().err().cloned().map(FailureKind::Error);
                (Ok(output), failure)
            }
            Err(payload) => {
                let panic = Panic::caught(payload);
                (Err(panic.clone()), Some(FailureKind::Panic(panic)))
            }
        };
        if failure.is_none() && !restart.on_success {
            return output;
        }
        if ctx.state().is_shutting_down() || ctx.is_cancelled() {
            // No restart once shutdown began: a success ends the task, a
            // failure is a failure.
            if let Some(failure) = failure {
                log.escalate(restarts, failure, "failed during the shutdown".into());
            }
            return output;
        }
        // A run that outlasted the window starts the backoff over.
        if started.elapsed() >= restart.window {
            consecutive = 0;
        }
        let now = Instant::now();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= restart.window)
        {
            recent.pop_front();
        }
        if recent.len() >= restart.restarts as usize {
            let failure = failure.unwrap_or_else(|| FailureKind::Error("returned".into()));
            let why = format!(
                "gave up: {} within {}, the limit",
                Count(recent.len(), "restart"),
                Secs(restart.window)
            );
            log.escalate(restarts, failure, why);
            return output;
        }
        let delay = restart.delay(consecutive, random());
        consecutive = consecutive.saturating_add(1);
        recent.push_back(now);
        log.restarting(restarts + 1, failure.as_ref(), delay);
        let backoff = ctx.run_until_cancelled(tokio::time::sleep(delay)).await;
        // Counted once it runs: a restart that the shutdown cut short in
        // its backoff never ran. Its failure is the last one still.
        if backoff.is_some() {
            restarts += 1;
        }
        if restarts > 0 {
            log.record(restarts, failure, None);
        }
        if backoff.is_none() {
            return output;
        }
    }
}
