/// Every restart option: each run takes its own clone of the arguments.
#[graceful::task(restart = "always", backoff = "250ms..1m", intensity = "3 in 10s")]
async fn consume(ctx: Context, queue: String, mut seen: Vec<u64>, (a, b): (u8, u8)) -> anyhow::Result<()> {
    seen.push(u64::from(a + b));
    consume_from(&ctx, &queue, seen).await
}

/// The defaults, `100ms..30s` and `5 in 60s`, with a generic argument.
#[graceful::task(restart = "on_failure")]
async fn watch<T: Clone + Send + 'static>(_ctx: Context, what: T, notify: impl Fn(T) + Clone + Send + 'static) {
    notify(what)
}
