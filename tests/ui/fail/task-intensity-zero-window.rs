use graceful::Context;

#[graceful::task(restart = "on_failure", intensity = "5 in 0s")]
async fn consume(ctx: Context) {
    ctx.cancelled().await;
}

fn main() {}
