/// Kept as written beside the errors, so that the IDE keeps working.
async fn takes_a_port(ctx: Context, port: u16) -> u32 {
    let _ = (ctx, port);
    0
}
::core::compile_error! {
    "a test's clock starts paused, and a paused clock needs the `current_thread` flavor: add `start_paused = false` to run the test on `multi_thread`, or remove `flavor = \"multi_thread\"`"
}
::core::compile_error! {
    "a test takes `ctx: Context` and `test: Test`, either or both, and nothing else: remove `port: u16`"
}
::core::compile_error! {
    "a test cannot return `u32`: return `()`, or `Result<(), E>` with `E: Debug` to use `?`"
}
