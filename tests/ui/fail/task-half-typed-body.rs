//! A body being typed: the only error is the compiler's, in the body; the
//! signature still expands, so calls to the task keep type-checking.

use graceful::Context;

#[graceful::task]
async fn tick(ctx: Context) {
    ctx.
}

#[graceful::main]
async fn main(ctx: Context) {
    let _handle: graceful::TaskHandle<()> = tick(&ctx);
}
