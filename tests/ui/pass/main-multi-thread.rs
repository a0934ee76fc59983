#[graceful::main(flavor = "multi_thread", worker_threads = 2, signals = "term")]
async fn main() {}
