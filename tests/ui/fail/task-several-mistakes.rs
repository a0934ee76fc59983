#[graceful::task(nmae = "x", name = 1)]
fn tick(n: &u64) -> ! {
    loop {
        let _ = n;
    }
}

fn main() {}
