#[graceful::main(signals = [SIGINT, SIGTERM])]
async fn main() {}
