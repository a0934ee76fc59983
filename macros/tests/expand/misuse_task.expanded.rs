/// Beside the error: the documented calling convention, the function inside.
fn greet(_: &Context, _: &str) -> ::graceful::TaskHandle<()> {
    #[allow(dead_code)]
    /// Beside the error: the documented calling convention, the function inside.
    async fn greet(ctx: Context, name: &str) {
        println!("hello {name}");
    }
    ::core::unreachable!()
}
::core::compile_error! {
    "a task outlives the call that starts it, so it cannot take `&str`: take an owned `String`"
}
