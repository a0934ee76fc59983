use graceful::Context;

#[graceful::task(name = "price-fetcher")]
async fn fetch(_ctx: Context) -> Result<(), String> {
    Ok(())
}

#[graceful::main]
async fn main(ctx: Context) {
    fetch(&ctx).await.unwrap();
}
