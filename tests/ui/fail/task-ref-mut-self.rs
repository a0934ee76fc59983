use graceful::Context;

struct Counter {
    n: u64,
}

impl Counter {
    #[graceful::task]
    async fn run(&mut self, ctx: Context) {
        while !ctx.is_cancelled() {
            self.n += 1;
        }
    }
}

fn main() {}
