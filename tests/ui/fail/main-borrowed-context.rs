use graceful::Context;

#[graceful::main]
async fn main(ctx: &Context) {
    ctx.shutdown();
}
