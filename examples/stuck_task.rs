//! A task that ignores cancellation, and the deadline that names it.
//!
//! `#[graceful::main(timeout = "2s")]` sets a short shutdown deadline.
//! `polite` stops when cancelled; `stubborn` never looks at its context.
//!
//! On Ctrl-C (or `kill -TERM`), `polite` prints `polite: stopped`; the drain
//! then waits for `stubborn`. Two seconds after the signal the deadline
//! passes, the report names `stubborn` (where it is defined, where it was
//! started, how long ago it was cancelled) and the process exits with code
//! 124. A second Ctrl-C during those two seconds exits at once with 130.
//!
//! ```text
//! cargo run --example stuck_task
//! ```

use std::time::Duration;

use graceful::Context;

#[graceful::main(timeout = "2s")]
async fn main(ctx: Context) {
    polite(&ctx);
    stubborn(&ctx);
    println!("stuck_task: started");
}

/// Stops at once when cancelled.
#[graceful::task]
async fn polite(ctx: Context) {
    ctx.cancelled().await;
    println!("polite: stopped");
}

/// Never checks its context: only the deadline ends it.
#[graceful::task]
async fn stubborn(_ctx: Context) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!("stubborn: still busy");
    }
}
