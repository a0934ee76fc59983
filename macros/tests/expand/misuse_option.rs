/// A bad option only: expanded with the defaults beside the error.
#[graceful::main(timeout = "20 sekunden", signals = ["SIGINT"])]
async fn main() {}
