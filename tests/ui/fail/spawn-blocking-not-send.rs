use std::rc::Rc;

use graceful::Context;

// A blocking task runs on another thread: what its closure takes must be
// `Send` (an `Arc` rather than an `Rc`).
#[graceful::main]
async fn main(ctx: Context) {
    let rows = Rc::new(vec![1, 2, 3]);
    ctx.spawn_blocking("sum", move |_ctx| {
        let _ = rows.iter().sum::<u32>();
    });
    ctx.shutdown();
}
