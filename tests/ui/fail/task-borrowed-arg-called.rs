//! A signature error is the only error: the call written after the docs
//! (`greet(&ctx, ..)`) still type-checks against `fn greet(&Context, ..)`.

use graceful::Context;

#[graceful::task]
async fn greet(_ctx: Context, name: &str) {
    println!("hello {name}");
}

#[graceful::main]
async fn main(ctx: Context) {
    greet(&ctx, "world");
}
