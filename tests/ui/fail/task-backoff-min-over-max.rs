use graceful::Context;

#[graceful::task(restart = "on_failure", backoff = "30s..100ms")]
async fn consume(ctx: Context) {
    ctx.cancelled().await;
}

fn main() {}
