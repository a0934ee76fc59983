use graceful::Context;

#[graceful::main]
async fn main(ctx: Context) -> anyhow::Result<()> {
    let n: u32 = "7".parse()?;
    assert_eq!(n, 7);
    ctx.shutdown();
    Ok(())
}
