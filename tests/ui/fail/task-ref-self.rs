use graceful::Context;

struct Poller {
    every_ms: u64,
}

impl Poller {
    #[graceful::task]
    async fn run(&self, ctx: Context) {
        let _ = (self.every_ms, ctx);
    }
}

fn main() {}
