use graceful::Context;

trait Service {
    #[graceful::task]
    async fn run(ctx: Context);
}

fn main() {}
