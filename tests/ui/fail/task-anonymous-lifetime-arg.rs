use graceful::Context;

#[graceful::task]
async fn run(_ctx: Context, job: Box<dyn Fn() + Send + '_>) {
    job();
}

fn main() {}
