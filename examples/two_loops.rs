//! Two tasks, one signal broadcast to both.
//!
//! A fast loop and a slow loop run side by side, each a `#[graceful::task]`
//! with its own name and period. They share nothing but their parent's
//! scope: one shutdown cancels both.
//!
//! On Ctrl-C (or `kill -TERM`), each loop notices the cancellation at its
//! next tick or at once while it sleeps, prints `<name>: stopped after N
//! ticks`, and the process exits with code 0.
//!
//! ```text
//! cargo run --example two_loops
//! ```

use std::time::Duration;

use graceful::Context;

#[graceful::main]
async fn main(ctx: Context) {
    ticker(&ctx, "fast", Duration::from_millis(200));
    ticker(&ctx, "slow", Duration::from_secs(1));
    println!("two_loops: started (press Ctrl-C to stop)");
}

/// Prints a line every `period` until shutdown.
#[graceful::task(name = "loop")]
async fn ticker(ctx: Context, label: &'static str, period: Duration) {
    let mut ticks = 0_u64;
    while ctx
        .run_until_cancelled(tokio::time::sleep(period))
        .await
        .is_some()
    {
        ticks += 1;
        println!("{label}: tick {ticks}");
    }
    println!("{label}: stopped after {ticks} ticks");
}
