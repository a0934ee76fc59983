//! Tasks start tasks; visibility, docs and attributes are kept; a task that
//! loops until cancelled returns `()`.

use graceful::Context;

mod workers {
    use graceful::Context;

    /// Waits for the shutdown.
    #[graceful::task]
    #[allow(clippy::never_loop)]
    pub(crate) async fn wait(ctx: Context) {
        loop {
            ctx.cancelled().await;
            return;
        }
    }
}

#[graceful::task]
async fn parent(ctx: Context) -> Result<(), String> {
    let child = workers::wait(&ctx);
    ctx.shutdown();
    child.await.map_err(|e| e.to_string())
}

#[graceful::main]
async fn main(ctx: Context) {
    parent(&ctx);
}
