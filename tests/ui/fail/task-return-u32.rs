use graceful::Context;

#[graceful::task]
async fn count(ctx: Context) -> u32 {
    ctx.cancelled().await;
    42
}

fn main() {}
