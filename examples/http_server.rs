//! An HTTP server whose in-flight requests finish on SIGTERM, and whose
//! streaming handler sees the request context.
//!
//! ```text
//! cargo run --example http_server                 # ADDR=127.0.0.1:3000 by default
//! curl -i 'localhost:3000/work?ms=5000' &         # then Ctrl-C: the request still gets `done`
//! curl -N localhost:3000/stream                   # an event every 100 ms until shutdown
//! ```
//!
//! Routes:
//!
//! - `GET /work?ms=N`: sleeps N ms, then answers `200 done`. Not cancelled by
//!   the shutdown: the server waits for it (within the deadline).
//! - `GET /stream`: server-sent events, one every 100 ms, until the request's
//!   context is cancelled; then a last `shutdown` event and the end.
//! - `GET /ws`: a WebSocket that sends `tick N` every 100 ms and echoes
//!   what it receives; at shutdown it sends a close frame with code 1001
//!   ("going away"). The session runs as a task of the request's context,
//!   so the drain waits for the close handshake. That task is isolated (the
//!   default of a request's tasks): a client that vanishes without a close
//!   frame fails its own session, which is logged and counted in the final
//!   report, and the server goes on serving everyone else.
//! - `GET /stats`: how many `/work` requests are in flight.
//! - `GET /ready` (503 until `main` returned, `not ready: starting`, and
//!   from the moment shutdown is requested), `GET /live`.
//!
//! `WARM_UP_MS=N` makes `main` take N ms more before it returns (a cache to
//! fill, say): requests are served meanwhile, but `/ready` says `starting`.
//!
//! On SIGTERM or Ctrl-C (with `GRACEFUL_LAME_DUCK=2s`, after a lame duck
//! during which `/ready` answers 503 and everything else is still served,
//! each response with `Connection: close`, HTTP/2 connections sent `GOAWAY`):
//! the listener closes (new connections are refused), idle connections are
//! closed, streams end, and the process exits 0 once every in-flight request
//! has been answered (with `Connection: close`). The first stdout line is
//! `listening on http://IP:PORT`; then come a summary of the drain and
//! `http_server: goodbye`, from a hook.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::response::Response;
use axum::response::sse::{Event, Sse};
use axum::routing::get;
use axum::{Router, http::StatusCode};
use futures_util::Stream;
use graceful::Context;
use graceful::http::{self, RequestContext};

#[graceful::main]
async fn main(ctx: Context) -> anyhow::Result<()> {
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = http::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);

    let app = Router::new()
        .route("/work", get(work))
        .route("/stream", get(stream))
        .route("/ws", get(websocket))
        .route("/stats", get(stats))
        .merge(http::health_routes())
        .with_state(Arc::new(AtomicU64::new(0)));
    let server = http::serve(&ctx, listener, app);

    ctx.spawn("report", async move {
        let served = server.await?;
        println!("http_server: {served}");
        anyhow::Ok(())
    });
    // A hook of `main`: it runs once the server (in the child scope `http`)
    // has drained and the report above is printed.
    ctx.defer("say goodbye", async { println!("http_server: goodbye") });
    if let Some(ms) = std::env::var("WARM_UP_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await; // the warm-up
    }
    Ok(())
}

/// Sleeps `ms` milliseconds, then answers `done`. It deliberately ignores
/// the shutdown: the server lets it finish.
async fn work(
    State(in_flight): State<Arc<AtomicU64>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<&'static str, (StatusCode, &'static str)> {
    let ms: u64 = match params.get("ms").map(|ms| ms.parse()) {
        None => 0,
        Some(Ok(ms)) => ms,
        Some(Err(_)) => return Err((StatusCode::BAD_REQUEST, "ms must be a number\n")),
    };
    in_flight.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    in_flight.fetch_sub(1, Ordering::SeqCst);
    Ok("done")
}

async fn stats(State(in_flight): State<Arc<AtomicU64>>) -> String {
    format!("in flight: {}\n", in_flight.load(Ordering::SeqCst))
}

/// One event every 100 ms until the request's context is cancelled, then a
/// last `shutdown` event: the response ends and the connection can close.
async fn stream(
    RequestContext(ctx): RequestContext,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let every = tokio::time::interval(Duration::from_millis(100));
    let events = futures_util::stream::unfold(
        Some((ctx, every, 0u64)),
        |state: Option<(Context, tokio::time::Interval, u64)>| async move {
            let (ctx, mut every, n) = state?;
            match ctx.run_until_cancelled(every.tick()).await {
                Some(_) => {
                    let event = Event::default().event("tick").data(n.to_string());
                    Some((Ok(event), Some((ctx, every, n + 1))))
                }
                None => Some((Ok(Event::default().event("shutdown").data("bye")), None)),
            }
        },
    );
    Sse::new(events)
}

/// Upgrades to a WebSocket. Once upgraded the connection leaves the HTTP
/// server, so the session runs as a task of the request's context: the
/// drain cancels it and waits for it. Like every task started from a
/// request's context, it is isolated: if it fails, the process goes on.
async fn websocket(RequestContext(ctx): RequestContext, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| async move {
        let _ = ctx.spawn("websocket", session(ctx.clone(), socket)).await;
    })
}

/// Ticks and echoes until the client leaves or the server drains; then
/// closes with 1001 "going away" and waits (briefly) for the client's close.
/// A client that leaves without a close frame (its connection reset) is an
/// error of this session alone.
async fn session(ctx: Context, mut socket: WebSocket) -> Result<(), axum::Error> {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    let mut n = 0u64;
    loop {
        tokio::select! {
            () = ctx.cancelled() => break,
            _ = every.tick() => {
                socket.send(Message::Text(format!("tick {n}").into())).await?;
                n += 1;
            }
            received = socket.recv() => match received {
                Some(Ok(Message::Text(text))) => socket.send(Message::Text(text)).await?,
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Err(e)) => return Err(e),
                Some(Ok(_)) => {}
            },
        }
    }
    let close = CloseFrame {
        code: close_code::AWAY,
        reason: "server shutting down".into(),
    };
    socket.send(Message::Close(Some(close))).await?;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    Ok(())
}
