use graceful::{Context, Policy};

#[graceful::main]
async fn main(ctx: Context) {
    ctx.spawn_fn("worker", |ctx| async move { ctx.cancelled().await });
    // With a policy: the scope's default.
    let jobs = ctx.scope("jobs").default_policy(Policy::Essential);
    jobs.spawn_fn("consumer", |jobs| async move { jobs.cancelled().await });
    ctx.shutdown();
}
