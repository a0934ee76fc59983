//! errgroup semantics: the first failure cancels the rest.
//!
//! Two tasks start together. `poll_feed` works until it is cancelled;
//! `flaky_upstream` fails by itself about two seconds after start. Its error
//! starts the shutdown, as Go's `errgroup.WithContext` does: `poll_feed` is
//! cancelled and prints `poll_feed: cancelled`, and the process exits with
//! code 1. The final report on stderr names the task that failed and its
//! error:
//!
//! ```text
//! graceful: 1 failure:
//!   - `flaky_upstream` in scope `main` (...) returned an error: upstream closed the connection: connection reset
//! ```
//!
//! No signal is needed; Ctrl-C before the failure stops both tasks with
//! code 0.
//!
//! ```text
//! cargo run --example errgroup
//! ```

use std::time::Duration;

use anyhow::Context as _;
use graceful::Context;

#[graceful::main]
async fn main(ctx: Context) {
    poll_feed(&ctx);
    flaky_upstream(&ctx, Duration::from_secs(2));
    println!("errgroup: started");
}

/// Keeps working until the group is cancelled.
#[graceful::task]
async fn poll_feed(ctx: Context) {
    let mut every = tokio::time::interval(Duration::from_millis(300));
    let mut polls = 0_u32;
    while ctx.run_until_cancelled(every.tick()).await.is_some() {
        polls += 1;
        println!("poll_feed: poll {polls}");
    }
    println!("poll_feed: cancelled after {polls} polls");
}

/// Fails after `after`, as a lost connection would.
#[graceful::task]
async fn flaky_upstream(ctx: Context, after: Duration) -> anyhow::Result<()> {
    if ctx
        .run_until_cancelled(tokio::time::sleep(after))
        .await
        .is_none()
    {
        println!("flaky_upstream: cancelled before failing");
        return Ok(());
    }
    println!("flaky_upstream: failing");
    Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
        .context("upstream closed the connection")
}
