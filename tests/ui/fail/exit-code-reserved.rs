use graceful::Context;
use graceful::report::ExitCode;

// 124 is the deadline's own code: a program cannot choose it (nor 0, nor
// 125 and up), and in a `const` that is a compile error.
const TIMED_OUT: ExitCode = ExitCode::new(124);

#[graceful::main]
async fn main(ctx: Context) {
    ctx.shutdown_with(TIMED_OUT);
}
