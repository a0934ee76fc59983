use graceful::Context;

#[graceful::task(restart = "on_failure")]
async fn watch(ctx: Context, notify: impl Fn(u64) + Send + 'static) {
    ctx.cancelled().await;
    notify(1);
}

fn main() {}
