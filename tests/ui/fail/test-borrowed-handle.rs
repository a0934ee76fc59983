use graceful::Test;

#[graceful::test]
async fn drains(test: &Test) {
    let _ = test;
}

fn main() {}
