#[graceful::test(
    timeout = "5s",
    lame_duck = "500ms",
    start_paused = false,
    flavor = "multi_thread",
    worker_threads = 2,
    crate = "::my_app::graceful",
)]
async fn on_real_threads(ctx: my_app::graceful::Context) {
    ctx.shutdown();
}
