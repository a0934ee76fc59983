use graceful::Context;

#[graceful::task(restart = "on_failure", backoff = "0s..30s")]
async fn consume(ctx: Context) {
    ctx.cancelled().await;
}

fn main() {}
