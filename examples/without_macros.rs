//! The whole lifecycle through the builder, without the macros.
//!
//! A ticker (in its own `producer` scope) sends a job into a channel every
//! 100 ms; a worker handles the jobs; a deferred `close` hook runs last.
//!
//! On Ctrl-C or SIGTERM: the `producer` scope drains first (the ticker stops
//! and drops its sender), the worker handles what is left in the channel and
//! ends when the channel closes, then the `close` hook runs. Every job sent
//! was handled; the process exits 0.
//!
//! ```text
//! cargo run --example without_macros
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use graceful::{Context, Runtime};
use tokio::sync::mpsc;

fn main() {
    Runtime::new()
        .timeout(Duration::from_secs(10))
        .run(|ctx| async move {
            println!(
                "without_macros: started, pid {}; press Ctrl-C or send SIGTERM",
                std::process::id()
            );
            let handled = Arc::new(AtomicU64::new(0));
            let (tx, rx) = mpsc::channel(8);

            let producer = ctx.scope("producer");
            producer.spawn("ticker", ticker(producer.clone(), tx));
            ctx.spawn("worker", worker(rx, handled.clone()));
            ctx.defer("close", async move {
                println!(
                    "close: {} jobs handled, closing",
                    handled.load(Ordering::SeqCst)
                );
            });
        })
}

async fn ticker(ctx: Context, jobs: mpsc::Sender<u64>) -> Result<(), mpsc::error::SendError<u64>> {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    let mut sent = 0;
    while ctx.run_until_cancelled(every.tick()).await.is_some() {
        sent += 1;
        jobs.send(sent).await?;
        println!("ticker: sent job {sent}");
    }
    println!("ticker: stopped after sending {sent} jobs");
    Ok(())
}

/// Ends by itself when every sender is gone: no cancellation needed.
async fn worker(mut jobs: mpsc::Receiver<u64>, handled: Arc<AtomicU64>) {
    while let Some(job) = jobs.recv().await {
        tokio::time::sleep(Duration::from_millis(30)).await;
        handled.fetch_add(1, Ordering::SeqCst);
        println!("worker: handled job {job}");
    }
    println!(
        "worker: channel closed and drained, {} jobs handled",
        handled.load(Ordering::SeqCst)
    );
}
