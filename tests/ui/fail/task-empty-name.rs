use graceful::Context;

#[graceful::task(name = "")]
async fn tick(_ctx: Context) {}

fn main() {}
