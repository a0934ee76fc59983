use graceful::Context;

// An essential task's end shuts the process down; a restarted task's end
// starts it again: the two cannot both hold.
#[graceful::task(policy = "essential", restart = "always")]
async fn consume(ctx: Context, queue: String) {
    let _ = queue;
    ctx.cancelled().await;
}

#[graceful::main]
async fn main(ctx: Context) {
    consume(&ctx, "jobs".into());
}
