use graceful::Context;

// `Box<dyn Error>` is `Display`, but neither `Send` nor `Sync`: the error
// says so, and what to write instead.
#[graceful::task]
async fn fetch(_ctx: Context) -> Result<(), Box<dyn std::error::Error>> {
    Err("no route to host".into())
}

fn main() {}
