use graceful::Context;

struct Connection;

#[graceful::task(restart = "on_failure")]
async fn serve(ctx: Context, peer: String, conn: Connection) -> Result<(), String> {
    let _ = (ctx, peer, conn);
    Ok(())
}

#[graceful::main]
async fn main(ctx: Context) {
    serve(&ctx, "10.0.0.1".into(), Connection);
}
