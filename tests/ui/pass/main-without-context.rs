#[graceful::main]
async fn main() {
    println!("nothing to run");
}
