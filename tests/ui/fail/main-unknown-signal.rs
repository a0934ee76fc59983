#[graceful::main(signals = ["SIGINT", "SIGTEM"])]
async fn main() {}
