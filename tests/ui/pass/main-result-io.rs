#[graceful::main]
async fn main() -> Result<(), std::io::Error> {
    std::env::current_dir()?;
    Ok(())
}
