//! Outgoing HTTP requests cancelled with the context.
//!
//! A client loop sends `GET /work?ms=MS` (default 1000) again and again to
//! `ADDR`. Without `ADDR` the example first starts a tiny server of its own
//! on `127.0.0.1:0`, so it runs alone:
//!
//! ```text
//! cargo run --example http_client                        # then Ctrl-C
//! ADDR=127.0.0.1:3000 cargo run --example http_client    # against `http_server`
//! ```
//!
//! On SIGTERM or Ctrl-C the request in flight is dropped at once
//! (`ctx.run_until_cancelled(client.get(..).send())`): its connection is
//! closed instead of waiting for the answer, the loop ends, and the process
//! exits 0. The embedded server drains after the client: it serves in the
//! `http` scope itself (`http::Server::serve_in`) and the client runs in
//! a child of that scope, and a scope's children drain before it. Its
//! handler gives up as soon as the server drains, so nothing waits for the
//! full second.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use graceful::Context;
use graceful::http::{self, RequestContext};

#[graceful::main]
async fn main(ctx: Context) -> anyhow::Result<()> {
    let (addr, client) = match std::env::var("ADDR") {
        Ok(addr) => (addr, ctx.scope("client")),
        Err(_) => {
            let listener = http::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?.to_string();
            println!("http_client: serving on http://{addr}");
            // main/http: the server; main/http/client: the client, which
            // drains first. Created before `serve_in` makes `http` the
            // requests' (isolated) scope, the client keeps main's policy:
            // critical.
            let http = ctx.scope("http");
            let client = http.scope("client");
            let app = Router::new().route("/work", get(work));
            http::Server::new(app).serve_in(&http, listener);
            (addr, client)
        }
    };
    let ms: u64 = match std::env::var("MS") {
        Ok(ms) => ms.parse()?,
        Err(_) => 1000,
    };
    let url = format!("http://{addr}/work?ms={ms}");
    println!("http_client: requesting {url}");
    client_loop(&client, url);
    Ok(())
}

/// Requests `url` until the context is cancelled; the request in flight at
/// that moment is dropped, not awaited. A task of its caller's scope.
#[graceful::task]
async fn client_loop(ctx: Context, url: String) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for n in 1.. {
        let started = Instant::now();
        let request = async {
            client
                .get(&url)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await
        };
        match ctx.run_until_cancelled(request).await {
            Some(Ok(body)) => println!(
                "request {n}: {body} in {} ms",
                started.elapsed().as_millis()
            ),
            Some(Err(e)) => {
                println!("request {n}: failed: {e}");
                ctx.run_until_cancelled(tokio::time::sleep(Duration::from_millis(200)))
                    .await;
            }
            None => {
                println!(
                    "request {n}: cancelled after {} ms by the shutdown",
                    started.elapsed().as_millis()
                );
                break;
            }
        }
    }
    println!("http_client: stopped");
    Ok(())
}

/// The embedded server's handler: sleeps `ms` milliseconds but ends as soon
/// as the server drains.
async fn work(
    RequestContext(ctx): RequestContext,
    Query(params): Query<HashMap<String, String>>,
) -> &'static str {
    let ms = params.get("ms").and_then(|ms| ms.parse().ok()).unwrap_or(0);
    match ctx
        .run_until_cancelled(tokio::time::sleep(Duration::from_millis(ms)))
        .await
    {
        Some(()) => "done",
        None => "cancelled",
    }
}
