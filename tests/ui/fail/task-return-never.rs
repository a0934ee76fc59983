use graceful::Context;

#[graceful::task]
async fn forever(_ctx: Context) -> ! {
    loop {
        std::thread::yield_now();
    }
}

fn main() {}
