use graceful::Context;

#[graceful::task(restart = "on-failure")]
async fn consume(ctx: Context) {
    ctx.cancelled().await;
}

fn main() {}
