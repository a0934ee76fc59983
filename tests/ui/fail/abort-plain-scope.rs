use graceful::Context;

// A plain scope keeps nothing to abort its tasks with: only
// `ctx.abortable_scope(name)` gives the `Abort` that can.
#[graceful::main]
async fn main(ctx: Context) {
    let job = ctx.scope("job");
    job.spawn("fetch", std::future::pending::<()>());
    job.abort();
}
