#[graceful::main(timeout = "20s", timeout = "30s")]
async fn main() {}
