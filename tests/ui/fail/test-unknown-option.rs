#[graceful::test(start_pause = false)]
async fn drains(ctx: graceful::Context) {
    ctx.shutdown();
}

fn main() {}
