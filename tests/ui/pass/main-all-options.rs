use graceful::Context;

#[graceful::main(
    timeout = "10s",
    lame_duck = "1500ms",
    signals = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"],
    flavor = "current_thread",
)]
async fn main(ctx: Context) {
    assert_eq!(ctx.path(), "main");
}
