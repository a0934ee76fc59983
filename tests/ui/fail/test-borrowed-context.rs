use graceful::Context;

#[graceful::test]
async fn drains(ctx: &Context) {
    let _ = ctx;
}

fn main() {}
