use graceful::{Context, Test};

#[graceful::test]
async fn serves(ctx: Context, test: Test, port: u16) {
    let _ = (ctx, test, port);
}

fn main() {}
