#[graceful::main(lame_duck = "5")]
async fn main() {}
