use graceful::Context;

#[graceful::task]
async fn tick(ctx: &Context) {
    ctx.cancelled().await;
}

fn main() {}
