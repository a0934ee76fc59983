/// Beside the error: the documented calling convention, the function inside.
#[graceful::task]
async fn greet(ctx: Context, name: &str) {
    println!("hello {name}");
}
