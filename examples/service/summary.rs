//! What the service prints at shutdown: one line as each phase ends, with
//! what it did and how long it took, so an operator watching a drain sees
//! how far it got (and, if the deadline strikes, which phase did not end):
//!
//! ```text
//! shutdown: SIGTERM received
//!   not ready, lame duck: 1001 ms
//!   http drained: 3 requests in flight, 5 answered during the drain, in 2 ms (4119 requests in all)
//!   queue drained: 17 jobs waiting at the end of the http drain, processed in 4 ms
//!   database closed: 4119 jobs accepted and committed, 4131 processed (12 resumed at start), 0 refused; WAL checkpointed, in 3 ms
//! ```
//!
//! When the drain is cut (the deadline, a second signal), the runtime's
//! report lists, under the scope `main`, what [`Summary::in_flight`]
//! says:
//!
//! ```text
//! graceful: in flight in scope `main`:
//!   - 4119 jobs accepted and committed, 3800 processed (12 resumed at start), 0 refused
//!   - acknowledged but not processed: 331 (resumed at next start)
//! ```

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use graceful::http::Served;
use graceful::{Context, TaskHandle};

use crate::db::Db;

/// The shutdown summary: the futures its methods return print its lines.
pub struct Summary(Arc<Phases>);

struct Phases {
    db: Db,
    /// When the HTTP drain ended, and how many jobs were waiting then.
    http_ended: OnceLock<(Instant, u64)>,
}

impl Summary {
    /// A summary of the jobs of `db`.
    pub fn new(db: &Db) -> Summary {
        Summary(Arc::new(Phases {
            db: db.clone(),
            http_ended: OnceLock::new(),
        }))
    }

    /// A task: waits for the shutdown request and says why, then for the
    /// `server` to end, and says how long the lame duck and the drain took.
    pub fn http(
        &self,
        ctx: &Context,
        server: TaskHandle<Served>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
        let (phases, ctx) = (self.0.clone(), ctx.clone());
        async move {
            ctx.shutdown_requested().await;
            let requested = Instant::now();
            if let Some(reason) = ctx.reason() {
                println!("shutdown: {reason}");
            }
            let served = server.await?;
            let ended = Instant::now();
            let _ = phases.http_ended.set((ended, phases.db.counts().waiting));
            let lame_duck = (ended - requested).saturating_sub(served.drain_took);
            println!("  not ready, lame duck: {} ms", ms(lame_duck));
            println!(
                "  http drained: {} requests in flight, {} answered during the drain, in {} ms ({} requests in all)",
                served.in_flight_at_drain,
                served.drained,
                ms(served.drain_took),
                served.requests
            );
            Ok(())
        }
    }

    /// A hook of the workers' scope: says how many jobs were waiting when the
    /// HTTP drain ended, and how long the workers took to process them.
    pub fn queue_drained(&self) -> impl Future<Output = ()> + Send + 'static {
        let phases = self.0.clone();
        async move {
            if let Some((http_ended, left)) = phases.http_ended.get() {
                println!(
                    "  queue drained: {left} jobs waiting at the end of the http drain, processed in {} ms",
                    ms(http_ended.elapsed())
                );
            }
        }
    }

    /// A hook: runs `close`, then says what this run did with the jobs, and
    /// how many it leaves to the next start.
    pub fn database_closed(
        &self,
        close: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
        let phases = self.0.clone();
        async move {
            let closing = Instant::now();
            close.await?;
            let jobs = jobs(&phases.db);
            println!(
                "  database closed: {jobs}; WAL checkpointed, in {} ms",
                ms(closing.elapsed())
            );
            let waiting = phases.db.counts().waiting;
            if waiting > 0 {
                println!("  {}", unprocessed(waiting));
            }
            Ok(())
        }
    }

    /// For [`Context::describe`]: the jobs, for the report of a cut drain
    /// (and the task dump).
    pub fn in_flight(&self, ctx: &Context) -> impl Fn() -> Vec<String> + Send + Sync + 'static {
        let (phases, ctx) = (self.0.clone(), ctx.clone());
        move || {
            let waiting = phases.db.counts().waiting;
            let waiting = match ctx.state().is_shutting_down() {
                false => format!("acknowledged, not processed yet: {waiting}"),
                true => unprocessed(waiting),
            };
            vec![jobs(&phases.db), waiting]
        }
    }
}

fn jobs(db: &Db) -> String {
    let c = db.counts();
    format!(
        "{} jobs accepted and committed, {} processed ({} resumed at start), {} refused",
        c.acknowledged, c.processed, c.resumed, c.refused
    )
}

fn unprocessed(waiting: u64) -> String {
    format!("acknowledged but not processed: {waiting} (resumed at next start)")
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}
