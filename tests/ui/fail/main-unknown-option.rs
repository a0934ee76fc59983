#[graceful::main(timout = "20s")]
async fn main() {}
