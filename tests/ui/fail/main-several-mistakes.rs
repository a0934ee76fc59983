#[graceful::main(timeout = "2 fortnights", signals = ["SIGWINCH"], flavour = "current_thread")]
async fn main() {}
