use graceful::{Context, Test};

#[graceful::test]
fn drains(ctx: Context, test: Test) {
    let _ = (ctx, test);
}

fn main() {}
