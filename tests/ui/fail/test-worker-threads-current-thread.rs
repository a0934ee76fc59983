#[graceful::test(worker_threads = 4)]
async fn drains(ctx: graceful::Context) {
    ctx.shutdown();
}

fn main() {}
