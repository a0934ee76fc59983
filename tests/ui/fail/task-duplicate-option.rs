use graceful::Context;

#[graceful::task(name = "ticker", name = "clock")]
async fn tick(_ctx: Context) {}

fn main() {}
