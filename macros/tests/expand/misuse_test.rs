/// Kept as written beside the errors, so that the IDE keeps working.
#[graceful::test(flavor = "multi_thread")]
async fn takes_a_port(ctx: Context, port: u16) -> u32 {
    let _ = (ctx, port);
    0
}
