#[allow(dead_code)]
fn main() {
    /// Kept inside an empty `fn main`, so no "`main` function not found" follows.
    async fn main(args: Vec<String>) {
        println!("{args:?}");
    }
}
::core::compile_error! {
    "`main` takes no parameters or one `ctx: Context`: remove `args: Vec<String>` (read the command line with `std::env::args()`)"
}
