use graceful::Context;

// A scope drains after another scope, not after a name: pass the
// `Context` of that scope, as `ctx.scope("db").drain_after(&http)`.
#[graceful::main]
async fn main(ctx: Context) {
    let _http = ctx.scope("http");
    let _db = ctx.scope("db").drain_after("http");
}
