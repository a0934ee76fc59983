//! Every output shape a task may have, and what awaiting its handle gives.

use graceful::Context;

#[graceful::task]
async fn unit(_ctx: Context) {}

#[graceful::task]
async fn with_anyhow(_ctx: Context, n: u64) -> anyhow::Result<u64> {
    let parsed: u64 = "40".parse()?;
    Ok(parsed + n)
}

#[graceful::task]
async fn with_io(_ctx: Context) -> std::io::Result<()> {
    Ok(())
}

#[graceful::task]
async fn with_string_error(_ctx: Context, fail: bool) -> Result<String, String> {
    if fail {
        return Err("no".to_string());
    }
    Ok("yes".to_string())
}

#[graceful::main]
async fn main(ctx: Context) {
    unit(&ctx).await.unwrap();
    assert_eq!(with_anyhow(&ctx, 2).await.unwrap(), 42);
    with_io(&ctx).await.unwrap();
    assert_eq!(with_string_error(&ctx, false).await.unwrap(), "yes");
}
