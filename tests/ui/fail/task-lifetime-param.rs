use std::borrow::Cow;

use graceful::Context;

#[graceful::task]
async fn greet<'a>(_ctx: Context, name: Cow<'a, str>) {
    println!("hello {name}");
}

fn main() {}
