use graceful::Context;

#[graceful::task(restart = "on_failure", backoff = "100ms-30s")]
async fn consume(ctx: Context) {
    ctx.cancelled().await;
}

fn main() {}
