#[graceful::main]
async unsafe fn main() {}
