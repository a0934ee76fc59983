use graceful::Context;

#[graceful::main]
async fn main(ctx: Context, verbose: bool) {
    let _ = (ctx, verbose);
}
