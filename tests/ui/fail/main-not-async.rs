use graceful::Context;

#[graceful::main]
fn main(ctx: Context) {
    ctx.shutdown();
}
