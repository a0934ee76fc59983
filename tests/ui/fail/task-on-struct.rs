#[graceful::task]
struct Ticker {
    every_ms: u64,
}

fn main() {}
