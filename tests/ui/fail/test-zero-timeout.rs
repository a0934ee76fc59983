#[graceful::test(timeout = "0s")]
async fn drains(ctx: graceful::Context) {
    ctx.shutdown();
}

fn main() {}
