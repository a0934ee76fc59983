#[graceful::task]
async fn tick(every_ms: u64) {
    let _ = every_ms;
}

fn main() {}
