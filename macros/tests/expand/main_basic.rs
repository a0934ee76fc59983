#[graceful::main]
async fn main(ctx: Context) -> anyhow::Result<()> {
    ticker(&ctx, "hello".to_string());
    Ok(())
}
