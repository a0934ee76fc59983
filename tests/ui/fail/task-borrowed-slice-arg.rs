use graceful::Context;

#[graceful::task]
async fn sum(_ctx: Context, numbers: &[u64]) -> Result<u64, String> {
    Ok(numbers.iter().sum())
}

fn main() {}
