/// The function comes back unchanged beside the error.
async fn greet(ctx: Context, name: &str) {
    println!("hello {name}");
}
::core::compile_error! {
    "a task outlives the call that starts it, so it cannot take `&str`: take an owned `String`"
}
