use graceful::Context;

#[graceful::task(nmae = "ticker")]
async fn tick(_ctx: Context) {}

fn main() {}
