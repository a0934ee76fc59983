#[graceful::main(
    timeout = "20s",
    lame_duck = "1500ms",
    signals = ["SIGTERM", "hup"],
    flavor = "current_thread",
    crate = "::my_app::graceful",
)]
async fn main() {
    println!("started");
}
