use graceful::Context;

#[graceful::task]
async fn describe(_ctx: Context) -> impl std::fmt::Display {
    "done"
}

fn main() {}
