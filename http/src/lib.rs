//! Serving an axum router with graceful draining, readiness and liveness
//! (the facade's feature `http`).
//!
//! [`serve`] runs an [`axum::Router`] on a listener (TCP, a Unix domain
//! socket, or any [`axum::serve::Listener`]) as a task of its own scope,
//! `http`, under the given [`Context`]. It is Go's `http.Server.Shutdown`
//! with `BaseContext`, wired to the process lifecycle:
//!
//! | when | what the server does |
//! |---|---|
//! | running | accepts connections (HTTP/1.1 and HTTP/2, with upgrades) and serves them, within [timeouts](Server) safe on the open internet |
//! | shutdown requested, lame duck | keeps serving everything; [`ready`] answers `503` so load balancers stop sending traffic; clients are told to leave, as Envoy's drain does: HTTP/1 responses carry `Connection: close` (the connection closes after the response), HTTP/2 connections get `GOAWAY` (their streams in flight end first), while new connections are still accepted and answered, and told the same. A keep-alive connection that sends nothing stays open until the drain |
//! | the `http` scope is cancelled | accepts what the kernel already queued, then closes the listener: new connections are **refused** |
//! | | in-flight HTTP/1 responses carry `Connection: close`; HTTP/2 connections get `GOAWAY` (if the lame duck did not already) |
//! | | a connection that is not mid-request (new, idle keep-alive, part-way through a request head) has a [grace](Server::grace) of 1 s to send a request, answered with `Connection: close`; then it is closed. One that was quiet for the grace already (a pool's spare connection) is closed at once |
//! | | every handler's [`RequestContext`] is cancelled, so streams and long polls end |
//! | | in-flight requests run to completion, within the process deadline |
//! | every connection closed | the task ends with a [`Served`] summary; the scope's hooks run |
//!
//! No client can stall the drain: a request head that is not complete when
//! the grace ends is dropped with its connection, and a head is bounded by
//! a [header read timeout](Server::header_read_timeout) at all times; a
//! request body still arriving when the grace ends fails (axum's body
//! extractors answer `400`, with `Connection: close`), and one that stops
//! arriving fails after the [body read timeout](Server::body_read_timeout). If
//! the deadline passes anyway (a handler that never ends), the report lists
//! the requests still in flight under the `http` scope: method, path
//! (without the query), peer and age, the 20 oldest and a count of the
//! rest; so does the task dump.
//!
//! Failed accepts (out of file descriptors) and connections that end in an
//! error are `tracing` events; when no subscriber is installed, they also
//! reach stderr, at most one line a second per server.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use graceful::Context;
//! use graceful::http::{self, RequestContext};
//!
//! async fn hello(RequestContext(ctx): RequestContext) -> &'static str {
//!     if ctx.is_cancelled() { "bye" } else { "hello" }
//! }
//!
//! #[graceful::main]
//! async fn main(ctx: Context) -> std::io::Result<()> {
//!     let listener = http::bind("127.0.0.1:3000").await?;
//!     let app = Router::new()
//!         .route("/", get(hello))
//!         .merge(http::health_routes()); // GET /ready, GET /live
//!     http::serve(&ctx, listener, app);
//!     Ok(()) // the server keeps running; SIGTERM drains it
//! }
//! ```
//!
//! The order of the drain follows the scopes: pass a context whose scope is
//! a child of the one that owns what the handlers use (a database, a
//! queue), and the server drains completely before those are torn down.
//!
//! Serving on a Unix domain socket is the same call, with the same drain:
//!
//! ```no_run
//! # async fn start(ctx: &graceful::Context) -> std::io::Result<()> {
//! let _ = std::fs::remove_file("/run/app.sock"); // a socket file left by a previous run
//! let listener = tokio::net::UnixListener::bind("/run/app.sock")?;
//! graceful::http::serve(ctx, listener, axum::Router::new());
//! # Ok(())
//! # }
//! ```
//!
//! # gRPC
//!
//! A [tonic](https://docs.rs/tonic) service is served like any router:
//! `tonic::service::Routes::new(svc).add_service(health).into_axum_router()`
//! is an [`axum::Router`], and [`serve`] or [`Server::serve_in`] runs it
//! (over HTTP/2 without TLS, "h2c", which tonic's clients speak to an
//! `http://` address), with the drain above: the listener closes,
//! connections get `GOAWAY`, and the calls and server streams in flight
//! run to their end within the deadline.
//!
//! - **The request context.** tonic keeps the HTTP request's extensions in
//!   its `tonic::Request`, so a handler finds the [`RequestContext`] there:
//!   `request.extensions().get::<RequestContext>()`. A stream that does
//!   not end by itself (a subscription, a watch) must follow that context,
//!   which is cancelled when the drain begins, and end, with
//!   `Status::unavailable` so that the client retries elsewhere. One that
//!   follows `main`'s context instead holds the drain until the deadline:
//!   that context is cancelled only once the server has drained.
//! - **Health.** The standard health service (`grpc.health.v1.Health`, the
//!   `tonic-health` crate) follows the lifecycle with one task in the
//!   server's scope: once [`Context::shutdown_requested`] completes (before
//!   the lame duck, the moment [`ready`] answers `503`), it sets the
//!   statuses to `NOT_SERVING` with the `HealthReporter`; once the scope
//!   is cancelled, it clears them, which ends the service's `Watch`
//!   streams, as they too would hold the drain until the deadline. Serve
//!   in a scope of your own ([`Server::serve_in`]) to have that scope.
//!
//! The `grpc_server` example of the repository (`examples/grpc_server.rs`)
//! does all of this, and its test (`tests/grpc.rs`) drives it with tonic's
//! client and a real `SIGTERM`: 50 calls and 5 streams in flight on one
//! HTTP/2 connection all complete, an endless stream ends with
//! `UNAVAILABLE` at once, and the health service says `NOT_SERVING` within
//! milliseconds of the signal.
//!
//! # Layers
//!
//! For those who work on this crate: each module may use the ones below
//! it, never one above (CI's `.ci/module-cycles` checks that no two of them
//! import each other, even through others). From the bottom up:
//!
//! 1. `defaults` (the public default values), `in_flight` (the roster of
//!    requests in flight, for reports), `log` (a server's stderr throttle),
//!    `source` (the listeners: accept, sweep the queue, close),
//!    `request_context` (the [`RequestContext`] extractor, and the
//!    extensions that carry it): each on its own.
//! 2. `settings`: the record of a [`Server`]'s setters.
//! 3. `server_state`: what one server's accept loop and connections share
//!    (its scope, router, settings, hyper's builder, counts, roster, its
//!    requests' first extensions, throttle).
//! 4. `conn`: one connection's state (its reads, writes, requests in
//!    flight, and the marks its watchdog reads).
//! 5. `watchdog` (the connection's timer, and its IO that counts) and
//!    `body` (a request body with time limits): they read a `conn`.
//! 6. `request`: the hyper service of a connection, one request's
//!    bookkeeping from the call to the end of its response; its handler
//!    runs isolated (a panic is answered `500`, and counted).
//! 7. `conn_task`: one connection's task: serves it, heeds the watchdog,
//!    drains it.
//! 8. `engine`: one run of a server: the accept loop, the sweep and close
//!    at the drain, the wait for the connections.
//! 9. `server` ([`Server`], the builder that starts the engine) and
//!    `health` (the handlers of [`health_routes`]): the public faces; this
//!    file holds [`serve`], [`bind`] and [`Served`].

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(
    missing_docs,
    unreachable_pub,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use gracefully_runtime::{Context, TaskHandle};

mod body;
mod conn;
mod conn_task;
mod defaults;
mod engine;
mod health;
mod in_flight;
mod log;
mod request;
mod request_context;
mod server;
mod server_state;
mod settings;
mod source;
mod watchdog;

pub use health::{health_routes, live, ready};
pub use request_context::{MissingContext, RequestContext};
pub use server::Server;

/// The listen backlog of [`bind`]: how many connections the kernel queues
/// before the server accepts them.
///
/// ```
/// assert_eq!(graceful::http::BACKLOG, 1024);
/// ```
pub const BACKLOG: u32 = 1024;

/// Serves `router` on `listener` as a task of a new child scope of `ctx`,
/// named `http`, and returns the task's handle at once; with options, see
/// [`Server`].
///
/// `listener` is a [`TcpListener`] (from [`bind`]), a
/// [`UnixListener`](tokio::net::UnixListener), or any
/// [`axum::serve::Listener`] (one that terminates TLS, say).
///
/// The server runs until that scope is cancelled (at shutdown, after the
/// lame duck and after any child scope of the `http` scope has drained).
/// From the moment the shutdown is requested, through the lame duck, it
/// still accepts and serves, but tells clients to leave: HTTP/1 responses
/// carry `Connection: close`, HTTP/2 connections get `GOAWAY`. Once its
/// scope is cancelled it stops accepting (the listener is closed, so new connections are
/// refused), answers in-flight HTTP/1 requests with `Connection: close`,
/// sends HTTP/2 `GOAWAY`, gives the other connections a
/// [grace](Server::grace) to send one last request, cancels every handler's
/// [`RequestContext`], and waits for in-flight requests to finish within
/// the process deadline. The task's output is a [`Served`] summary.
///
/// The task is critical: if the listener fails, the process shuts down.
/// Tasks started from a request's context are isolated (see
/// [`RequestContext`]): no request can stop the process.
///
/// An upgraded connection (a WebSocket) leaves hyper once upgraded: to be
/// awaited by the drain, its session runs as a task of the request's
/// context, and ends when that context is cancelled.
///
/// Handlers can extract [`RequestContext`], and with
/// [`Server::connect_info`],
/// [`ConnectInfo`](axum::extract::ConnectInfo) of the listener's address
/// type (`ConnectInfo<SocketAddr>` over TCP). A handler that panics fails
/// only its request, not the process: it is answered `500` (a gRPC request,
/// `content-type: application/grpc`, gets the trailers-only answer its
/// client reads as an internal error: `grpc-status: 13`), its connection
/// goes on, and the panic is an isolated failure of the final report, named
/// by the request (`request GET /path from PEER`, without the query) and
/// located at the `panic!` (see [`Context::isolate`]).
///
/// Accept errors such as "too many open files" are reported and retried;
/// the task returns `Err` only if the listener itself is unusable.
///
/// ```
/// use axum::{Router, routing::get};
/// use graceful::Runtime;
/// use std::io::{Read, Write};
///
/// let report = Runtime::new().signals([]).block_on(|ctx| async move {
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let server = graceful::http::serve(&ctx, listener, Router::new().route("/", get(|| async { "hi" })));
///
///     let answer = tokio::task::spawn_blocking(move || {
///         let mut tcp = std::net::TcpStream::connect(addr).unwrap();
///         tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
///         let mut answer = String::new();
///         tcp.read_to_string(&mut answer).unwrap();
///         answer
///     }).await.unwrap();
///     assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("hi"));
///
///     ctx.shutdown();
///     let served = server.await.unwrap();
///     assert_eq!(served.requests, 1);
///     assert!(std::net::TcpStream::connect(addr).is_err()); // refused
/// });
/// assert_eq!(report.exit_code(), 0);
/// ```
#[track_caller]
pub fn serve<L>(ctx: &Context, listener: L, router: Router) -> TaskHandle<Served>
where
    L: axum::serve::Listener,
    L::Addr: Clone + fmt::Debug + Sync + 'static,
{
    Server::new(router).serve(ctx, listener)
}

/// Binds a listener for [`serve`] with a backlog of [`BACKLOG`] pending
/// connections (tokio's and the standard library's default is 128, which a
/// burst of clients overflows: the kernel then drops their handshakes and
/// they retry a second later). `SO_REUSEADDR` is set, so a restarted
/// process can bind at once. The first address of `addr` that binds wins.
///
/// **Sockets handed down.** On Unix, a listening socket handed to this
/// process for `addr` is taken instead of binding: one from systemd's
/// socket activation (`LISTEN_FDS`, a `.socket` unit), or from the old
/// process of an
/// [upgrade](gracefully_runtime::Runtime::upgrade_signal). See
/// [`sockets::inherited`](gracefully_runtime::sockets::inherited) for how a socket
/// matches `addr`; a malformed `LISTEN_FDS` is an error naming it. What is
/// handed down is what the start of the runtime read (`#[graceful::main]`,
/// `Runtime::run`): without one, nothing is. [`serve`] then
/// [offers](gracefully_runtime::sockets::offer) the listener to the next
/// upgrade of its runtime, until the server closes it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = graceful::http::bind("127.0.0.1:0").await?;
/// println!("listening on http://{}", listener.local_addr()?);
/// # Ok(())
/// # }
/// ```
pub async fn bind(addr: impl tokio::net::ToSocketAddrs) -> io::Result<TcpListener> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(addr).await?.collect();
    #[cfg(unix)]
    {
        let mut inherited = None;
        for addr in &addrs {
            inherited = gracefully_runtime::sockets::inherited(&addr.to_string())?;
            if inherited.is_some() {
                break;
            }
        }
        match inherited {
            Some(inherited) => {
                inherited.set_nonblocking(true)?;
                TcpListener::from_std(inherited)
            }
            None => bind_new(addrs),
        }
    }
    #[cfg(not(unix))]
    bind_new(addrs)
}

fn bind_new(addrs: Vec<SocketAddr>) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in addrs {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            // The address, which the OS's message leaves out.
            Err(e) => last = Some(io::Error::new(e.kind(), format!("cannot bind {addr}: {e}"))),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
}

/// What a server did, returned by the task [`serve`] starts.
///
/// ```
/// # fn show(served: graceful::http::Served) {
/// println!(
///     "{}: {} requests on {} connections; {} drained in {:?}",
///     served.listener, served.requests, served.connections, served.drained, served.drain_took
/// );
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Served {
    /// What the server listened on: `http://127.0.0.1:3000`,
    /// `unix:/run/app.sock`.
    pub listener: String,
    /// Connections accepted.
    pub connections: u64,
    /// Requests received.
    pub requests: u64,
    /// Requests in flight when the drain began.
    pub in_flight_at_drain: u64,
    /// Requests answered (or abandoned by their client) after the drain
    /// began: those in flight then, plus those that arrived on connections
    /// accepted before the listener closed.
    pub drained: u64,
    /// From the cancellation of the scope to the close of the last connection.
    pub drain_took: Duration,
}

impl fmt::Display for Served {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests on {} connections, {} in flight at shutdown, {} drained in {} ms",
            self.requests,
            self.connections,
            self.in_flight_at_drain,
            self.drained,
            self.drain_took.as_millis()
        )
    }
}
