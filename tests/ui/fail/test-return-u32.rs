use graceful::Test;

#[graceful::test]
async fn counts(test: Test) -> u32 {
    test.report().await.failures.len() as u32
}

fn main() {}
