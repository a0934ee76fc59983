/// Kept inside an empty `fn main`, so no "`main` function not found" follows.
#[graceful::main]
async fn main(args: Vec<String>) {
    println!("{args:?}");
}
