use std::rc::Rc;

use graceful::Context;

#[graceful::task]
async fn count(ctx: Context) -> anyhow::Result<()> {
    let hits = Rc::new(0);
    ctx.cancelled().await;
    println!("{hits}");
    Ok(())
}

fn main() {}
