#[graceful::test]
async fn drains_in_order(ctx: Context, test: Test) {
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0);
}

/// Either parameter may be left out; a `Result` lets the body use `?`.
#[graceful::test]
#[ignore = "slow"]
async fn without_context(test: Test) -> Result<(), String> {
    test.advance(Duration::from_secs(1)).await;
    Ok(())
}
