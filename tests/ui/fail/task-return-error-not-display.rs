use graceful::Context;

#[derive(Debug)]
struct Opaque;

#[graceful::task]
async fn fetch(_ctx: Context) -> Result<(), Opaque> {
    Err(Opaque)
}

fn main() {}
