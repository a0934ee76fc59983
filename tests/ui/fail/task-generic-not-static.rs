use graceful::Context;

#[graceful::task]
async fn show<T: std::fmt::Display + Send>(_ctx: Context, value: T) {
    println!("{value}");
}

fn main() {}
