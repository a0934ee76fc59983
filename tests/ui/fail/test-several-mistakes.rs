#[graceful::test(flavor = "multi_thread", timeout = "soon")]
fn serves(port: u16) -> Option<()> {
    let _ = port;
    None
}

fn main() {}
