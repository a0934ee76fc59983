use graceful::Test;

#[graceful::test]
async fn counts(test: Test) -> Result<usize, String> {
    Ok(test.report().await.failures.len())
}

fn main() {}
