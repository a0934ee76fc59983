#[graceful::main]
struct App;

fn main() {}
