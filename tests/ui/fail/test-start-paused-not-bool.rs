#[graceful::test(start_paused = "no")]
async fn drains(ctx: graceful::Context) {
    ctx.shutdown();
}

fn main() {}
