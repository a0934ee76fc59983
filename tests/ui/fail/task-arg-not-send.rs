use std::rc::Rc;

use graceful::Context;

#[graceful::task]
async fn count(ctx: Context, hits: Rc<u64>) {
    ctx.cancelled().await;
    println!("{hits}");
}

fn main() {}
