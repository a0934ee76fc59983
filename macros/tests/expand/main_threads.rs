#[graceful::main(flavor = "multi_thread", worker_threads = 2)]
async fn main(mut ctx: Context) {
    ctx = ctx.scope("app");
    ctx.shutdown();
}
