use graceful::Context;

struct Poller {
    count: u64,
}

impl Poller {
    #[graceful::task(restart = "always")]
    async fn run(mut self, ctx: Context) {
        self.count += 1;
        ctx.cancelled().await;
    }
}

fn main() {}
