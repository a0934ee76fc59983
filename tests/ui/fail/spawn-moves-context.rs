use graceful::Context;

// `spawn` borrows `ctx` while the `async move` block moves it: E0505.
// `ctx.spawn_fn("worker", |ctx| async move { .. })` hands the task its own.
#[graceful::main]
async fn main(ctx: Context) {
    ctx.spawn("worker", async move { ctx.cancelled().await });
}
