//! Both attributes through a re-export of the crate.

mod reexport {
    pub use ::graceful;
}

use reexport::graceful::Context;

#[graceful::task(crate = "crate::reexport::graceful", name = "renamed")]
async fn work(_ctx: Context) {}

#[graceful::main(crate = "crate::reexport::graceful", timeout = "5s", signals = ["term"])]
async fn main(ctx: Context) {
    work(&ctx).await.unwrap();
}
