#[graceful::main(timeout)]
async fn main() {}
