use graceful::Context;

#[graceful::task(policy = "restart")]
async fn consume(ctx: Context) {
    ctx.cancelled().await;
}

fn main() {}
