//! One ticking task, stopped by a signal.
//!
//! `#[graceful::main]` installs the `SIGINT`/`SIGTERM` handlers before `main`
//! runs; `ticker` is a `#[graceful::task]`, so calling it starts a tracked
//! task and returns at once. The task prints a line every half second.
//!
//! On Ctrl-C (or `kill -TERM`), the ticker's context is cancelled, its loop
//! ends, it prints `ticker: stopped`, and the process exits with code 0.
//!
//! ```text
//! cargo run --example hello_loop
//! ```

use std::time::Duration;

use graceful::Context;

#[graceful::main]
async fn main(ctx: Context) {
    ticker(&ctx, "hello".to_string());
    println!("hello_loop: started (press Ctrl-C to stop)");
    // Returning from `main` does not stop the service: the ticker runs on.
}

/// Prints `word` every half second until shutdown.
#[graceful::task]
async fn ticker(ctx: Context, word: String) {
    let mut every = tokio::time::interval(Duration::from_millis(500));
    while ctx.run_until_cancelled(every.tick()).await.is_some() {
        println!("{word} in a loop");
    }
    println!("ticker: stopped");
}
