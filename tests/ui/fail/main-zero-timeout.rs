#[graceful::main(timeout = "0s")]
async fn main() {}
