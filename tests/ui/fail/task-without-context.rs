#[graceful::task]
async fn tick() {}

fn main() {}
