#[graceful::main(timeout = "20 sekunden")]
async fn main() {}
