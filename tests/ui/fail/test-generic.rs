use graceful::Context;

#[graceful::test]
async fn drains<T: Default>(ctx: Context) {
    let _ = (ctx, T::default());
}

fn main() {}
