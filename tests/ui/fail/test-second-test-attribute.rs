#[graceful::test]
#[tokio::test]
async fn drains(ctx: graceful::Context) {
    ctx.shutdown();
}

fn main() {}
