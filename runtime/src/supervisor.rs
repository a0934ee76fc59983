//! The supervisor: hears the signals, waits for the trigger, then runs the
//! phases of the shutdown (lame duck, drain) under one deadline, each one
//! cut short by the deadline or a forcing second signal, and builds the
//! [`Report`].
//!
//! # Near-simultaneous signals
//!
//! Copies of a shutdown signal that arrive within [`Signal::WINDOW`] of the
//! first one are the same request (a terminal and a wrapper script both
//! forwarding one Ctrl-C; a process manager signalling every process of a
//! group); any shutdown signal after the window forces the exit. The times
//! compared are those at which each delivery's handler ran (the kernel's
//! stamp on the datagram it sent, see `listener.rs`), not when a thread or
//! the runtime got round to reading it.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, interval_at, sleep, sleep_until};
use tokio_util::task::{AbortOnDropHandle, TaskTracker};

use crate::console::{Secs, console};
use crate::failure::Running;
use crate::listener::{Delivery, Heard};
use crate::process::{Process, State};
use crate::report::{Outcome, Reason, Report};
use crate::scope::Scope;
use crate::signal::Signal;

mod commands;

/// At most one task dump per this period; a storm of dump signals cannot
/// flood stderr.
const DUMP_EVERY: Duration = Duration::from_secs(1);

/// No progress line this close to the deadline: its report follows.
const PROGRESS_QUIET: Duration = Duration::from_secs(1);

/// Which signal does what, as the builder says.
pub(crate) struct Signals {
    pub(crate) shutdown: Vec<Signal>,
    pub(crate) dump: Option<Signal>,
}

/// What the supervisor is told by the builder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) lame_duck: Duration,
    pub(crate) force_on_second_signal: bool,
    pub(crate) progress_every: Duration,
}

pub(crate) struct Supervisor {
    limits: Limits,
    signals: Signals,
    shared: Arc<Process>,
    root: Arc<Scope>,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    /// When the first shutdown signal was heard.
    first_signal: Option<Instant>,
    /// When the last dump was printed, and how many requests were ignored since.
    last_dump: Option<(Instant, u32)>,
    /// What keeps the lifecycle from ending by itself besides the tasks:
    /// a test's body, until it returns or waits for the report.
    held: Option<TaskTracker>,
    #[cfg(all(unix, feature = "upgrade"))]
    upgrader: Arc<crate::upgrade::Upgrader>,
}

/// Why a phase did not run to its end: the report to exit with.
type Cut = Box<Report>;

/// What woke a phase up.
enum Woke {
    PhaseEnded,
    DeadlinePassed,
    Heard(Delivery),
    Progress,
}

/// Completes once no task runs and nothing else holds the lifecycle open.
async fn idle(root: &Arc<Scope>, held: Option<&TaskTracker>) {
    loop {
        root.all_ended().await;
        match held {
            Some(held) if !held.is_empty() => held.wait().await,
            _ => return,
        }
    }
}

impl Supervisor {
    pub(crate) fn new(
        limits: Limits,
        signals: Signals,
        shared: Arc<Process>,
        root: Arc<Scope>,
        deliveries: mpsc::UnboundedReceiver<Delivery>,
        #[cfg(all(unix, feature = "upgrade"))] upgrader: Arc<crate::upgrade::Upgrader>,
    ) -> Supervisor {
        Supervisor {
            limits,
            signals,
            shared,
            root,
            deliveries,
            first_signal: None,
            last_dump: None,
            held: None,
            #[cfg(all(unix, feature = "upgrade"))]
            upgrader,
        }
    }

    /// The lifecycle does not end by itself (every task ended) while
    /// `held`, a closed tracker, tracks anything.
    #[cfg(feature = "test-util")]
    pub(crate) fn held_by(mut self, held: TaskTracker) -> Supervisor {
        self.held = Some(held);
        self
    }

    pub(crate) async fn run(mut self) -> Report {
        let shared = self.shared.clone();
        let root = self.root.clone();
        if let Some(period) = shared.notifier.watchdog {
            // A plain task of the runtime: if the runtime is wedged, the
            // pings stop and the watchdog restarts the service.
            let s = shared.clone();
            shared.handle.spawn(async move {
                let mut every = tokio::time::interval(period / 2);
                loop {
                    every.tick().await;
                    s.notifier.send("WATCHDOG=1");
                }
            });
        }
        let held = self.held.clone();
        let mut requested = pin!(shared.requested.cancelled());
        let mut idle = pin!(idle(&root, held.as_ref()));
        // Each of `requested` and `idle` completes once: the shutdown's
        // reason is set by then, and the loop ends.
        while shared.triggered().is_none() {
            let heard = poll_fn(|cx| {
                if let Poll::Ready(Some(delivery)) = self.deliveries.poll_recv(cx) {
                    return Poll::Ready(Some(delivery));
                }
                if requested.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                if idle.as_mut().poll(cx).is_ready() {
                    shared.request(Reason::Finished);
                    return Poll::Ready(None);
                }
                Poll::Pending
            })
            .await;
            if let Some(delivery) = heard {
                // Nothing forces the exit before the shutdown began.
                drop(self.heard(delivery));
            }
        }
        let (reason, triggered) = shared
            .triggered()
            .expect("a reason is set with the request");
        #[cfg(all(unix, feature = "upgrade"))]
        crate::sockets::withdraw_all(); // closing a listener now refuses connections
        self.announce(&reason);
        self.extend_stop_timeout(triggered);
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
                let mut over = pin!(sleep(delay));
                let mut failed = pin!(shared.failed.cancelled());
                let mut ended = pin!(root.all_ended());
                poll_fn(|cx| {
                    let any = over.as_mut().poll(cx).is_ready()
                        || failed.as_mut().poll(cx).is_ready()
                        || ended.as_mut().poll(cx).is_ready();
                    if any { Poll::Ready(()) } else { Poll::Pending }
                })
                .await;
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
        let mut phase = pin!(phase);
        let mut deadline_passed = pin!(sleep_until(deadline));
        let every = self.limits.progress_every;
        let mut progress = interval_at(Instant::now() + every, every);
        loop {
            // In this order: a phase that ended as the deadline passed
            // ended in time.
            let woke = poll_fn(|cx| {
                if phase.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Woke::PhaseEnded);
                }
                if deadline_passed.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Woke::DeadlinePassed);
                }
                if let Poll::Ready(Some(delivery)) = self.deliveries.poll_recv(cx) {
                    return Poll::Ready(Woke::Heard(delivery));
                }
                if progress_since.is_some() && progress.poll_tick(cx).is_ready() {
                    return Poll::Ready(Woke::Progress);
                }
                Poll::Pending
            })
            .await;
            match woke {
                Woke::PhaseEnded => return Ok(()),
                Woke::DeadlinePassed => {
                    let timeout = self.limits.timeout;
                    return Err(Box::new(self.abort(Outcome::DeadlineExceeded { timeout })));
                }
                Woke::Heard(delivery) => self.heard(delivery)?,
                Woke::Progress => {
                    // The deadline's report, due within a moment, names the
                    // same tasks: not two lines at one instant.
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left >= PROGRESS_QUIET.min(every) {
                        self.progress(progress_since.unwrap_or(deadline));
                    }
                }
            }
        }
    }

    fn announce(&self, reason: &Reason) {
        tracing::info!(%reason, timeout = ?self.limits.timeout, "shutdown started");
        self.shared
            .notifier
            .send(&format!("STATUS=shutting down: {reason}"));
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

    /// Does what a delivery asks: start the shutdown, force the exit, print
    /// the task dump, reload, or nothing (a signal heard only so that it
    /// does not end the process).
    fn heard(&mut self, delivery: Delivery) -> Result<(), Cut> {
        let sig = match delivery.heard {
            Heard::Signal(sig) => sig,
            #[cfg(unix)]
            Heard::FileTooLarge => {
                tracing::warn!(
                    "SIGXFSZ: a write went past the file-size limit and fails with EFBIG"
                );
                return Ok(());
            }
        };
        #[cfg(unix)]
        if sig == Signal::Hangup && !self.shared.reloads.is_empty() {
            self.reload();
            return Ok(());
        }
        #[cfg(all(unix, feature = "upgrade"))]
        if Some(sig) == self.upgrader.signal() && self.shared.triggered().is_none() {
            if self.shared.notifier.is_main() {
                let root = crate::context::Context::new(self.root.clone());
                let not_before = delivery.at + Signal::WINDOW;
                self.upgrader
                    .start(root, self.shared.clone(), sig, not_before);
            } else {
                // A signal to every process of the service reaches the new
                // process of an upgrade too: it is the old one's to act on.
                console(format_args!(
                    "graceful: {sig} ignored: this process is the new one of an upgrade and does not have the service yet"
                ));
            }
            return Ok(());
        }
        if self.signals.shutdown.contains(&sig) {
            return self.shutdown_signal(sig, delivery.at);
        }
        if Some(sig) == self.signals.dump {
            self.dump(sig);
        } else if sig == Signal::Hangup {
            // Heard under a service manager, whose reload sends it: it must
            // not end a program that has nothing to reload.
            tracing::warn!(signal = %sig, "no reload hook: signal ignored");
            console(format_args!(
                "graceful: {sig} ignored: this program has no reload hook (ctx.on_reload)"
            ));
        } else {
            tracing::info!(signal = %sig, "signal ignored");
        }
        Ok(())
    }

    /// The first shutdown signal starts the shutdown; copies within the
    /// window are the same request; any later one forces the exit.
    fn shutdown_signal(&mut self, sig: Signal, at: Instant) -> Result<(), Cut> {
        let Some(first) = self.first_signal else {
            self.first_signal = Some(at);
            // Unless the shutdown began otherwise: then this signal asks for
            // what is already under way.
            self.shared.request(Reason::Signal(sig));
            return Ok(());
        };
        if at.saturating_duration_since(first) < Signal::WINDOW {
            tracing::info!(signal = %sig, "signal within the window of the first: the same request");
            return Ok(());
        }
        if self.limits.force_on_second_signal {
            tracing::warn!(signal = %sig, "second signal: forcing exit");
            Err(Box::new(self.abort(Outcome::Forced(sig))))
        } else {
            tracing::warn!(signal = %sig, "signal ignored: already shutting down");
            Ok(())
        }
    }

    /// Tells systemd the service is stopping, and that stopping may take
    /// until the deadline (plus a second for the report and the exit).
    fn extend_stop_timeout(&self, triggered: Instant) {
        // After an upgrade the service goes on, in the new process.
        let upgraded = matches!(self.shared.triggered(), Some((Reason::Upgraded { .. }, _)));
        if self.shared.notifier.is_on() && !upgraded {
            let left = (triggered + self.limits.timeout).saturating_duration_since(Instant::now());
            let usec = (left + Duration::from_secs(1)).as_micros();
            self.shared
                .notifier
                .send(&format!("STOPPING=1\nEXTEND_TIMEOUT_USEC={usec}"));
        }
    }

    fn progress(&self, triggered: Instant) {
        let running = self.running();
        let names: Vec<String> = running
            .iter()
            .map(|r| format!("`{}` ({})", r.who.name, r.who.scope))
            .collect();
        tracing::warn!(tasks = ?names, elapsed = ?triggered.elapsed(), "still draining");
        self.extend_stop_timeout(triggered);
        self.shared.notifier.send(&format!(
            "STATUS=draining for {}, waiting for {}",
            Secs(triggered.elapsed()),
            names.join(", ")
        ));
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
            tracing::error!(task = %r.who.name, scope = %r.who.scope, spawned_at = %r.who.spawned_at, "still running at exit");
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
