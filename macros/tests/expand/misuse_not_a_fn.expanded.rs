struct Ticker;
::core::compile_error! {
    "`#[graceful::task]` must be placed on an `async fn`, not on a `struct` item"
}
