use graceful::Context;

#[graceful::task(policy = "fatal")]
async fn consume(ctx: Context) {
    ctx.cancelled().await;
}

fn main() {}
