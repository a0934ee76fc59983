use graceful::Context;

#[graceful::task]
fn tick(ctx: Context) {
    let _ = ctx;
}

fn main() {}
