use graceful::Context;
use std::time::Duration;

/// Prints `word` every second until shutdown.
#[graceful::task]
pub async fn ticker(ctx: Context, word: String) -> anyhow::Result<()> {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    while ctx.run_until_cancelled(every.tick()).await.is_some() {
        println!("{word} in a loop");
    }
    Ok(())
}
