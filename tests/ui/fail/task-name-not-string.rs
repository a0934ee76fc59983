use graceful::Context;

#[graceful::task(name = ticker)]
async fn tick(_ctx: Context) {}

fn main() {}
