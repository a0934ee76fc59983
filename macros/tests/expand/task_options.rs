#[graceful::task(name = "price-fetcher", crate = "::my_app::graceful")]
async fn fetch(ctx: my_app::graceful::Context, url: String) {
    let _ = (ctx, url);
}
