#[graceful::test(flavor = "multi_thread")]
async fn drains(ctx: graceful::Context) {
    ctx.shutdown();
}

fn main() {}
