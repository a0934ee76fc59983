use graceful::Context;

#[graceful::task(crate = "my graceful")]
async fn tick(_ctx: Context) {}

fn main() {}
