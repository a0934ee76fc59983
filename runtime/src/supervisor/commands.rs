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

    /// Runs the reload hooks, unless the shutdown began.
    #[cfg(unix)]
    pub(super) fn reload(&self) {
        if self.shared.triggered().is_some() {
            tracing::info!("reload ignored: shutting down");
            return;
        }
        let shared = self.shared.clone();
        Context::new(self.root.clone()).spawn_with(Policy::Isolated, "reload", async move {
            shared.reloads.run(|failure| shared.isolated(failure)).await;
        });
    }
}
