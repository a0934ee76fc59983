#[graceful::main(signals = ["int", "Term", "SIGhup", "usr1"], timeout = "1m 30s")]
async fn main() {}
