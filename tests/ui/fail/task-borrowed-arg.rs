use graceful::Context;

#[graceful::task]
async fn greet(_ctx: Context, name: &str) {
    println!("hello {name}");
}

fn main() {}
