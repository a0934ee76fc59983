/// An isolated task: its failure is reported, the process goes on.
#[graceful::task(policy = "isolated")]
async fn session(ctx: Context, peer: String) -> anyhow::Result<()> {
    serve(&ctx, peer).await
}

/// Critical even in a scope whose default is isolated.
#[graceful::task(policy = "critical", name = "ledger")]
async fn write_ledger(_ctx: Context) {}
