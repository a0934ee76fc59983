/// The function comes back unchanged beside the error.
#[graceful::task]
async fn greet(ctx: Context, name: &str) {
    println!("hello {name}");
}
