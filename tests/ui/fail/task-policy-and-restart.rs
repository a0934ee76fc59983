use graceful::Context;

#[graceful::task(policy = "isolated", restart = "on_failure")]
async fn consume(ctx: Context, queue: String) {
    let _ = queue;
    ctx.cancelled().await;
}

#[graceful::main]
async fn main(ctx: Context) {
    consume(&ctx, "jobs".into());
}
