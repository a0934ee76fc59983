use graceful::Context;

#[graceful::test]
async fn drains(ctx: Context, other: Context) {
    let _ = (ctx, other);
}

fn main() {}
