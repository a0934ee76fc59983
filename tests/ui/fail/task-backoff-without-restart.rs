use graceful::Context;

#[graceful::task(backoff = "1s..30s")]
async fn poll(ctx: Context) -> Result<(), String> {
    ctx.cancelled().await;
    Ok(())
}

fn main() {}
