use std::rc::Rc;

use graceful::Context;

#[graceful::task(restart = "on_failure")]
async fn count(ctx: Context, hits: Rc<u64>) -> Result<(), String> {
    ctx.cancelled().await;
    println!("{hits}");
    Ok(())
}

fn main() {}
