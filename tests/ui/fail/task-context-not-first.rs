use graceful::Context;

#[graceful::task]
async fn tick(every_ms: u64, ctx: Context) {
    let _ = (every_ms, ctx);
}

fn main() {}
