use graceful::Context;

#[graceful::task]
const async fn tick(_ctx: Context) {}

fn main() {}
