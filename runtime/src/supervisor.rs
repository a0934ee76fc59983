//! The supervisor: waits for the trigger, then runs the phases of the
//! shutdown (lame duck, drain) under one deadline, each one cut short by
//! the deadline or a forcing second signal, and builds the [`Report`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, interval_at, sleep, sleep_until};
use tokio_util::task::AbortOnDropHandle;

use crate::failure::Running;
use crate::lifecycle::{Shared, State};
use crate::report::{Outcome, Reason, Report, Secs, console};
use crate::scope::Scope;
use crate::signal::Signal;

/// What the supervisor is told by the builder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) lame_duck: Duration,
    pub(crate) force_on_second_signal: bool,
    pub(crate) progress_every: Duration,
}

pub(crate) struct Supervisor {
    pub(crate) limits: Limits,
    pub(crate) shared: Arc<Shared>,
    pub(crate) root: Arc<Scope>,
    pub(crate) signals: mpsc::UnboundedReceiver<Signal>,
}

/// Why a phase did not run to its end: the report to exit with.
type Cut = Box<Report>;

impl Supervisor {
    pub(crate) async fn run(mut self) -> Report {
        let shared = self.shared.clone();
        tokio::select! {
            Some(sig) = self.signals.recv() => shared.request(Reason::Signal(sig)),
            () = shared.requested.cancelled() => {}
            () = self.root.all_ended() => shared.request(Reason::Finished),
        }
        let (reason, triggered) = shared
            .triggered()
            .expect("a reason is set with the request");
        self.announce(&reason);
        match self.shutdown(triggered).await {
            Ok(()) => {
                let report = self.report(Outcome::Completed, Vec::new());
                tracing::info!(took = ?report.shutdown_took, failures = report.failures.len(), "shutdown complete");
                report
            }
            Err(cut) => *cut,
        }
    }

    /// The lame duck (if any), then the drain.
    async fn shutdown(&mut self, triggered: Instant) -> Result<(), Cut> {
        let deadline = triggered + self.limits.timeout;
        let root = self.root.clone();
        let shared = self.shared.clone();
        if shared.state() == State::LameDuck {
            let delay = self.limits.lame_duck;
            tracing::info!(?delay, "lame duck: not ready, still serving");
            let lame_duck = async {
                tokio::select! {
                    () = sleep(delay) => {}
                    () = shared.failed.cancelled() => {}
                    () = root.all_ended() => {}
                }
            };
            self.phase(deadline, None, lame_duck).await?;
        }

        shared.begin_drain();
        tracing::info!("draining");
        let drain = async {
            // On a worker: the wake-ups of a large scope's tasks are then
            // pushed to that worker's queue rather than the shared one.
            // Aborted if the deadline passes first.
            let drain = shared.handle.spawn(root.clone().drain());
            let _ = AbortOnDropHandle::new(drain).await;
            // Tasks started after their scope drained (rare) are awaited too.
            root.all_ended().await;
        };
        self.phase(deadline, Some(triggered), drain).await
    }

    /// Runs one phase to its end, unless the deadline passes or a second
    /// signal forces the exit first. With `progress_since`, names the tasks
    /// still running every `progress_every`.
    async fn phase(
        &mut self,
        deadline: Instant,
        progress_since: Option<Instant>,
        phase: impl Future<Output = ()>,
    ) -> Result<(), Cut> {
        tokio::pin!(phase);
        let every = self.limits.progress_every;
        let mut progress = interval_at(Instant::now() + every, every);
        loop {
            tokio::select! {
                () = &mut phase => return Ok(()),
                () = sleep_until(deadline) => {
                    return Err(Box::new(self.abort(Outcome::DeadlineExceeded { timeout: self.limits.timeout })));
                }
                Some(sig) = self.signals.recv() => self.second_signal(sig)?,
                _ = progress.tick(), if progress_since.is_some() => {
                    self.progress(progress_since.unwrap_or(deadline));
                }
            }
        }
    }

    fn announce(&self, reason: &Reason) {
        tracing::info!(%reason, timeout = ?self.limits.timeout, "shutdown started");
        let deadline = Secs(self.limits.timeout);
        match reason {
            Reason::Finished => {}
            Reason::Signal(sig) if self.limits.force_on_second_signal => console(format_args!(
                "graceful: {reason}, shutting down (deadline {deadline}); send {sig} again to force exit"
            )),
            _ => console(format_args!(
                "graceful: {reason}, shutting down (deadline {deadline})"
            )),
        }
    }

    /// A signal during shutdown: the forced-exit report, unless forcing is off.
    fn second_signal(&self, sig: Signal) -> Result<(), Cut> {
        if self.limits.force_on_second_signal {
            tracing::warn!(signal = %sig, "second signal: forcing exit");
            Err(Box::new(self.abort(Outcome::Forced(sig))))
        } else {
            tracing::warn!(signal = %sig, "signal ignored: already shutting down");
            Ok(())
        }
    }

    fn progress(&self, triggered: Instant) {
        let running = self.running();
        let names: Vec<String> = running
            .iter()
            .map(|r| format!("`{}` ({})", r.name, r.scope))
            .collect();
        tracing::warn!(tasks = ?names, elapsed = ?triggered.elapsed(), "still draining");
        console(format_args!(
            "graceful: still draining after {}, waiting for: {}",
            Secs(triggered.elapsed()),
            names.join(", ")
        ));
    }

    fn running(&self) -> Vec<Running> {
        let mut running = Vec::new();
        self.root.running(&mut running);
        running
    }

    fn abort(&self, outcome: Outcome) -> Report {
        let mut report = self.report(outcome, self.running());
        self.root.notes(&mut report.notes);
        let still_running = report.still_running.len();
        match outcome {
            Outcome::DeadlineExceeded { timeout } => {
                tracing::error!(?timeout, still_running, "shutdown deadline passed");
            }
            _ => tracing::error!(still_running, "exit forced by a second signal"),
        }
        for r in &report.still_running {
            tracing::error!(task = %r.name, scope = %r.scope, spawned_at = %r.spawned_at, "still running at exit");
        }
        report
    }

    fn report(&self, outcome: Outcome, still_running: Vec<Running>) -> Report {
        let (reason, triggered) = self.shared.triggered().expect("shutdown has a reason");
        let (isolated_failures, isolated) = self.shared.isolated_failures();
        Report {
            reason,
            outcome,
            failures: self.shared.failures(),
            isolated_failures,
            isolated,
            restarts: self.shared.restarts(),
            notes: Vec::new(),
            still_running,
            shutdown_took: triggered.elapsed(),
        }
    }
}
