//! Parameter patterns and spellings of the context.

use graceful::Context;

#[graceful::task]
async fn mutable(mut ctx: Context, mut n: u64) -> Result<u64, String> {
    ctx = ctx.scope("inner");
    n += 1;
    assert_eq!(ctx.path(), "main/inner");
    Ok(n)
}

#[graceful::task]
async fn ignored(_: Context, (a, b): (u64, u64)) -> Result<u64, String> {
    Ok(a + b)
}

#[graceful::task]
async fn qualified(ctx: graceful::Context) {
    assert!(!ctx.is_cancelled());
}

#[graceful::task]
async fn r#loop(_ctx: Context) {}

#[graceful::main]
async fn main(ctx: Context) {
    assert_eq!(mutable(&ctx, 1).await.unwrap(), 2);
    assert_eq!(ignored(&ctx, (2, 3)).await.unwrap(), 5);
    qualified(&ctx).await.unwrap();
    r#loop(&ctx).await.unwrap();
}
