//! What the supervisor tells as the shutdown runs: the notice on stderr,
//! systemd's status and stop timeout, the progress lines, and the report
//! it ends with.

use std::time::Duration;

use tokio::time::Instant;

use super::Supervisor;
use crate::console::{Secs, console};
use crate::failure::Running;
use crate::report::{Outcome, Reason, Report};

impl Supervisor {
    pub(super) fn announce(&self, reason: &Reason) {
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

    /// Tells systemd the service is stopping, and that stopping may take
    /// until the deadline (plus a second for the report and the exit).
    pub(super) fn extend_stop_timeout(&self, triggered: Instant) {
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

    pub(super) fn progress(&self, triggered: Instant) {
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

    pub(super) fn running(&self) -> Vec<Running> {
        let mut running = Vec::new();
        self.root.running(&mut running);
        running
    }

    pub(super) fn abort(&self, outcome: Outcome) -> Report {
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

    pub(super) fn report(&self, outcome: Outcome, still_running: Vec<Running>) -> Report {
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
            requested_exit_code: self.shared.chosen_exit_code(),
        }
    }
}
