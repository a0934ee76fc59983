//! What the signals other than the shutdown signals ask for: the task
//! dump and the reload.

use tokio::time::Instant;

use super::{DUMP_EVERY, Supervisor};
use crate::console::{Secs, console};
use crate::context::Context;
use crate::policy::Policy;
use crate::signal::Signal;

impl Supervisor {
    /// Prints the task dump, at most once every [`DUMP_EVERY`].
    pub(super) fn dump(&mut self, sig: Signal) {
        let now = Instant::now();
        let ignored = match &mut self.last_dump {
            Some((last, ignored)) if now.duration_since(*last) < DUMP_EVERY => {
                *ignored += 1;
                return;
            }
            Some((_, ignored)) => *ignored,
            None => 0,
        };
        self.last_dump = Some((now, 0));
        let mut dump = format!(
            "graceful: task dump ({sig}); {:?}, up {}",
            self.shared.state(),
            Secs(self.shared.started.elapsed())
        );
        if ignored > 0 {
            dump.push_str(&format!(
                "; {ignored} more dump signals ignored (one dump a second)"
            ));
        }
        self.root.dump(&mut dump);
        tracing::info!(%dump, "task dump");
        console(format_args!("{dump}"));
    }

    /// Runs the reload hooks (the table ignores a reload once the shutdown
    /// began).
    #[cfg(unix)]
    pub(super) fn reload(&self) {
        let shared = self.shared.clone();
        Context::new(self.root.clone()).spawn_with(Policy::Isolated, "reload", async move {
            shared.reloads.run(|failure| shared.isolated(failure)).await;
        });
    }

    /// Starts the upgrade, if this process holds the service.
    #[cfg(all(unix, feature = "upgrade"))]
    pub(super) fn upgrade(&self, sig: Signal, at: Instant) {
        if self.shared.notifier.is_main() {
            let root = Context::new(self.root.clone());
            self.upgrader
                .start(root, self.shared.clone(), sig, at + Signal::WINDOW);
        } else {
            // A signal to every process of the service reaches the new
            // process of an upgrade too: it is the old one's to act on.
            console(format_args!(
                "graceful: {sig} ignored: this process is the new one of an upgrade and does not have the service yet"
            ));
        }
    }
}
