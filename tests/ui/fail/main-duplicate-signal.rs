#[graceful::main(signals = ["SIGTERM", "term"])]
async fn main() {}
