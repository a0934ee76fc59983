#[graceful::main]
async fn main() -> Result<u32, std::io::Error> {
    Ok(0)
}
