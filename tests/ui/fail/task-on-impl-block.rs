use graceful::Context;

struct Poller;

#[graceful::task]
impl Poller {
    async fn run(self, ctx: Context) {
        ctx.cancelled().await;
    }
}

fn main() {}
