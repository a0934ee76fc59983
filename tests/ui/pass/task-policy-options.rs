//! Every failure-policy option of `#[graceful::task]`: `policy`, and
//! `restart` with `backoff` and `intensity`, on functions, generics and
//! methods; each run of a restarted task takes its own arguments.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use graceful::Context;

#[graceful::task(policy = "isolated")]
async fn isolated(_ctx: Context) -> Result<(), String> {
    Err("reported, and the process goes on".into())
}

#[graceful::task(policy = "critical", name = "ledger")]
async fn critical(_ctx: Context) {}

#[graceful::task(restart = "on_failure", backoff = "1ms..5ms", intensity = "3 in 1m")]
async fn flaky(
    _ctx: Context,
    runs: Arc<AtomicU32>,
    mut label: String,
    (a, b): (u8, u8),
) -> Result<String, String> {
    label.push('!');
    let run = runs.fetch_add(1, Ordering::SeqCst);
    if run < 2 {
        Err(format!("run {run} failed"))
    } else {
        Ok(format!("{label} {}", a + b))
    }
}

#[graceful::task(restart = "always", backoff = "0s..0s", intensity = "2 in 1h")]
async fn generic<T: Clone + Send + 'static>(
    ctx: Context,
    value: T,
    check: impl Fn(T) -> bool + Clone + Send + 'static,
) -> Result<(), String> {
    ctx.cancelled().await;
    if check(value) { Ok(()) } else { Err("unexpected".into()) }
}

#[derive(Clone)]
struct Poller {
    label: String,
}

impl Poller {
    #[graceful::task(restart = "on_failure")]
    async fn shared(self: Arc<Self>, _ctx: Context) -> Result<String, String> {
        Ok(self.label.clone())
    }

    #[graceful::task(restart = "always", crate = "::graceful")]
    async fn owned(mut self, ctx: Context, suffix: String) -> Result<String, String> {
        self.label.push_str(&suffix);
        ctx.cancelled().await;
        Ok(self.label)
    }
}

#[graceful::main(signals = [])]
async fn main(ctx: Context) {
    assert!(matches!(isolated(&ctx).await, Err(graceful::TaskError::Failed(_))));
    critical(&ctx).await.unwrap();

    let runs = Arc::new(AtomicU32::new(0));
    let out = flaky(&ctx, runs.clone(), "hi".into(), (1, 2)).await.unwrap();
    assert_eq!(out, "hi! 3");
    assert_eq!(runs.load(Ordering::SeqCst), 3);

    let poller = Poller { label: "p".into() };
    assert_eq!(Arc::new(poller.clone()).shared(&ctx).await.unwrap(), "p");
    let owned = poller.owned(&ctx, "q".into());
    let generic = generic(&ctx, 7u32, |v| v == 7);
    ctx.shutdown();
    assert_eq!(owned.await.unwrap(), "pq");
    generic.await.unwrap();
}
