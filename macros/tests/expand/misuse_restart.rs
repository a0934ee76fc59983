/// Bad restart options: still the calling convention, without what is wrong.
#[graceful::task(policy = "isolated", restart = "on_failure", backoff = "30s..1s")]
async fn consume(ctx: Context, queue: String) {
    let _ = (ctx, queue);
}

/// `backoff` without `restart`: a task started once, with the errors.
#[graceful::task(backoff = "1s..5s", intensity = "0 in 60s", policy = "fatal")]
async fn once(ctx: Context) {
    let _ = ctx;
}
