#[graceful::main]
async extern "C" fn main() {}
