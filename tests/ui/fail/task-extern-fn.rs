use graceful::Context;

#[graceful::task]
async extern "C" fn tick(_ctx: Context) {}

fn main() {}
