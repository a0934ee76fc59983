use graceful::Context;

#[graceful::task]
async unsafe fn poke(_ctx: Context) {}

fn main() {}
