//! Serving an axum router with graceful draining, readiness and liveness
//! (feature `http`, on by default).
//!
//! [`serve`] runs an [`axum::Router`] on a [`TcpListener`] as a task of its
//! own scope, `http`, under the given [`Context`]. It is Go's
//! `http.Server.Shutdown` with `BaseContext`, wired to the process
//! lifecycle:
//!
//! | when | what the server does |
//! |---|---|
//! | running | accepts connections (HTTP/1.1 and HTTP/2, with upgrades) and serves them |
//! | shutdown requested, lame duck | keeps serving everything; [`ready`] answers `503` so load balancers stop sending traffic |
//! | the `http` scope is cancelled | accepts what the kernel already queued, then closes the listener: new connections are **refused** |
//! | | idle keep-alive connections are closed; in-flight HTTP/1 responses carry `Connection: close`; HTTP/2 connections get `GOAWAY` |
//! | | every handler's [`RequestContext`] is cancelled, so streams and long polls end |
//! | | in-flight requests run to completion, within the process deadline |
//! | every connection closed | the task ends with a [`Served`] summary; the scope's hooks run |
//!
//! A connection accepted before the shutdown whose first request has not
//! arrived yet is given up to [`NEW_CONNECTION_GRACE`] to send it (and is
//! then answered with `Connection: close`), as Go does, so that a request
//! racing the shutdown is served rather than reset.
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

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context as Cx, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::{Context, State, TaskHandle};

/// How long a connection accepted before the shutdown may take to send its
/// first request once the shutdown has begun. A request that arrives in time
/// is served (with `Connection: close`); a connection that stays silent is
/// closed after this delay.
pub const NEW_CONNECTION_GRACE: Duration = Duration::from_secs(1);

/// At most this many connections already queued by the kernel are still
/// accepted when the listener stops.
const BACKLOG_SWEEP: usize = BACKLOG as usize;

/// Serves `router` on `listener` as a task of a new child scope of `ctx`,
/// named `http`, and returns the task's handle at once.
///
/// The server runs until that scope is cancelled (at shutdown, after the
/// lame duck and after any child scope of the `http` scope has drained).
/// Then it stops accepting (the listener is closed, so new connections are
/// refused), closes idle keep-alive connections, answers in-flight HTTP/1
/// requests with `Connection: close`, sends HTTP/2 `GOAWAY`, cancels every
/// handler's [`RequestContext`], and waits for in-flight requests to finish
/// within the process deadline. The task's output is a [`Served`] summary.
///
/// An upgraded connection (a WebSocket) leaves hyper once upgraded: to be
/// awaited by the drain, its session runs as a task of the request's
/// context, and ends when that context is cancelled (see
/// [`RequestContext`]).
///
/// Handlers can extract [`RequestContext`] and
/// [`ConnectInfo<SocketAddr>`](ConnectInfo). A handler that panics fails only
/// its request (its connection is closed), not the process.
///
/// Accept errors such as "too many open files" are logged and retried; the
/// task returns `Err` only if the listener itself is unusable.
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
///     let served = server.await.unwrap().unwrap();
///     assert_eq!(served.requests, 1);
///     assert!(std::net::TcpStream::connect(addr).is_err()); // refused
/// });
/// assert_eq!(report.exit_code(), 0);
/// ```
#[track_caller]
pub fn serve(
    ctx: &Context,
    listener: TcpListener,
    router: Router,
) -> TaskHandle<io::Result<Served>> {
    let scope = ctx.scope("http");
    let name = match listener.local_addr() {
        Ok(addr) => format!("serve http://{addr}"),
        Err(_) => "serve http".to_owned(),
    };
    scope.spawn(name, run(scope.clone(), listener, router))
}

/// Binds a listener for [`serve`] with a backlog of [`BACKLOG`] pending
/// connections (tokio's and the standard library's default is 128, which a
/// burst of clients overflows: the kernel then drops their handshakes and
/// they retry a second later). `SO_REUSEADDR` is set, so a restarted
/// process can bind at once. The first address of `addr` that binds wins.
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
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
}

/// The listen backlog of [`bind`]: how many connections the kernel queues
/// before the server accepts them.
pub const BACKLOG: u32 = 1024;

/// What a server did, returned by the task [`serve`] starts.
///
/// ```
/// # fn show(served: graceful::http::Served) {
/// println!(
///     "http: {} requests on {} connections; {} drained in {:?}",
///     served.requests, served.connections, served.drained, served.drain_took
/// );
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Served {
    /// The address the server listened on.
    pub local_addr: SocketAddr,
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

/// The [`Context`] of the request being handled: an axum extractor.
///
/// It is the context of the server's `http` scope, cancelled when the drain
/// begins (Go's `BaseContext`): a streaming, long-poll or WebSocket handler
/// selects on [`Context::cancelled`] and ends promptly, letting its
/// connection close. Tasks it spawns belong to the `http` scope and are
/// awaited before the server's parent scope is drained.
///
/// Extraction fails with `500` ([`MissingContext`]) if the router is not
/// served by [`serve`].
///
/// ```
/// use axum::{Router, routing::get};
/// use graceful::http::RequestContext;
/// use std::time::Duration;
///
/// /// Waits up to 30 s for news, but answers at once when the server drains.
/// async fn long_poll(RequestContext(ctx): RequestContext) -> &'static str {
///     match ctx.run_until_cancelled(tokio::time::sleep(Duration::from_secs(30))).await {
///         Some(()) => "nothing new",
///         None => "shutting down, poll again elsewhere",
///     }
/// }
///
/// let app: Router = Router::new().route("/poll", get(long_poll));
/// ```
///
/// A WebSocket session runs after its connection has left the server: spawn
/// it on the request's context so that the drain cancels it and awaits it,
/// and close with code 1001 ("going away") when the context is cancelled.
/// The `http_server` example does exactly that:
///
/// ```
/// use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
/// use axum::response::Response;
/// use graceful::Context;
/// use graceful::http::RequestContext;
/// use std::time::Duration;
///
/// async fn ws(RequestContext(ctx): RequestContext, upgrade: WebSocketUpgrade) -> Response {
///     upgrade.on_upgrade(move |socket| async move {
///         let _ = ctx.spawn("websocket", session(ctx.clone(), socket)).await;
///     })
/// }
///
/// async fn session(ctx: Context, mut socket: WebSocket) -> Result<(), axum::Error> {
///     let mut every = tokio::time::interval(Duration::from_millis(100));
///     while ctx.run_until_cancelled(every.tick()).await.is_some() {
///         socket.send(Message::Text("tick".into())).await?;
///     }
///     let away = CloseFrame { code: close_code::AWAY, reason: "server shutting down".into() };
///     socket.send(Message::Close(Some(away))).await
/// }
/// ```
#[derive(Clone, Debug)]
pub struct RequestContext(pub Context);

impl std::ops::Deref for RequestContext {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = MissingContext;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestConn>()
            .map(|conn| RequestContext(conn.0.ctx.clone()))
            .ok_or(MissingContext)
    }
}

/// The rejection of [`RequestContext`] when the router is not served by
/// [`serve`]: answered `500 Internal Server Error`.
///
/// ```
/// use axum::response::IntoResponse;
/// let response = graceful::http::MissingContext.into_response();
/// assert_eq!(response.status(), 500);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MissingContext;

impl fmt::Display for MissingContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no request context: this router is not served by `graceful::http::serve`")
    }
}

impl std::error::Error for MissingContext {}

impl IntoResponse for MissingContext {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

/// Readiness handler: `200 ready` while the process runs, `503` from the
/// moment shutdown is requested (the lame duck included), so that a load
/// balancer or Kubernetes stops sending traffic before anything is
/// cancelled.
///
/// ```
/// use axum::{Router, routing::get};
/// let app: Router = Router::new().route("/ready", get(graceful::http::ready));
/// ```
pub async fn ready(RequestContext(ctx): RequestContext) -> (StatusCode, &'static str) {
    match ctx.state() {
        State::Running => (StatusCode::OK, "ready\n"),
        State::LameDuck => (StatusCode::SERVICE_UNAVAILABLE, "not ready: lame duck\n"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "not ready: draining\n"),
    }
}

/// Liveness handler: `200 alive` for as long as the process can answer,
/// shutdown included (restarting a process that is draining would only
/// lose its work).
///
/// ```
/// use axum::{Router, routing::get};
/// let app: Router = Router::new().route("/live", get(graceful::http::live));
/// ```
pub async fn live() -> (StatusCode, &'static str) {
    (StatusCode::OK, "alive\n")
}

/// `GET /ready` ([`ready`]) and `GET /live` ([`live`]), to merge into an
/// application's router, whatever its state type.
///
/// ```
/// use axum::{Router, extract::State, routing::get};
/// let app: Router = Router::new()
///     .route("/", get(|State(name): State<&'static str>| async move { name }))
///     .merge(graceful::http::health_routes())
///     .with_state("hello");
/// ```
pub fn health_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/ready", get(ready))
        .route("/live", get(live))
}

/// Counters shared by the accept loop, the connections and the requests.
/// Requests are counted per connection (no shared cache line written per
/// request) and added up here when their connection ends.
struct Stats {
    ctx: Context,
    draining: AtomicBool,
    connections: AtomicU64,
    requests: AtomicU64,
    in_flight_at_drain: AtomicU64,
    drained: AtomicU64,
}

impl Stats {
    /// Whether the drain began: set by the accept loop, but a handler woken
    /// by the same cancellation may answer first, so also ask the scope
    /// (only while the process drains, to keep a lock off the hot path).
    fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
            || (self.ctx.state() == State::Draining && self.ctx.is_cancelled())
    }
}

/// One connection: what its requests need, its counters, and whether a
/// request arrived yet (to give a fresh connection its grace at shutdown).
struct Conn {
    ctx: Context,
    stats: Arc<Stats>,
    started: AtomicBool,
    first_request: Notify,
    requests: AtomicU64,
    finished: AtomicU64,
}

/// The request extension [`RequestContext`] reads: the connection, from
/// which the context is cloned only when a handler asks for it.
#[derive(Clone)]
struct RequestConn(Arc<Conn>);

async fn run(ctx: Context, listener: TcpListener, router: Router) -> io::Result<Served> {
    let local_addr = listener.local_addr()?;
    let stats = Arc::new(Stats {
        ctx: ctx.clone(),
        draining: AtomicBool::new(false),
        connections: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        in_flight_at_drain: AtomicU64::new(0),
        drained: AtomicU64::new(0),
    });
    let connections = TaskTracker::new();
    tracing::info!(addr = %local_addr, scope = %ctx.path(), "http: serving");

    let mut failures = 0u32;
    loop {
        let accepted = tokio::select! {
            biased;
            () = ctx.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, remote)) => {
                failures = 0;
                accept(&ctx, &connections, &stats, &router, stream, remote);
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) if is_fatal(&e) => {
                tracing::error!(addr = %local_addr, error = %e, "http: listener unusable");
                // Let the connections we have finish before failing.
                stats.draining.store(true, Ordering::Release);
                connections.close();
                connections.wait().await;
                return Err(e);
            }
            Err(e) => {
                // Out of file descriptors or memory: back off, keep serving.
                failures = (failures + 1).min(6);
                let pause = Duration::from_millis(5 << failures);
                tracing::warn!(addr = %local_addr, error = %e, ?pause, "http: accept failed, retrying");
                ctx.run_until_cancelled(tokio::time::sleep(pause)).await;
            }
        }
    }

    // The drain: from here on, every completed request counts as drained.
    let drain_began = Instant::now();
    stats.draining.store(true, Ordering::Release);

    // Clients whose connection the kernel already completed think they are
    // connected: serve them rather than reset them, then close the listener.
    let listener = listener.into_std()?;
    for _ in 0..BACKLOG_SWEEP {
        match listener.accept() {
            Ok((stream, remote)) => {
                let stream = stream
                    .set_nonblocking(true)
                    .and_then(|()| TcpStream::from_std(stream));
                if let Ok(stream) = stream {
                    accept(&ctx, &connections, &stats, &router, stream, remote);
                }
            }
            Err(e) if is_connection_error(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break, // WouldBlock: the queue is empty
        }
    }
    drop(listener);
    tracing::info!(
        addr = %local_addr,
        connections = connections.len(),
        "http: listener closed, draining connections"
    );

    connections.close();
    connections.wait().await;
    let served = Served {
        local_addr,
        connections: stats.connections.load(Ordering::Acquire),
        requests: stats.requests.load(Ordering::Acquire),
        in_flight_at_drain: stats.in_flight_at_drain.load(Ordering::Acquire),
        drained: stats.drained.load(Ordering::Acquire),
        drain_took: drain_began.elapsed(),
    };
    tracing::info!(
        addr = %local_addr,
        requests = served.requests,
        drained = served.drained,
        took = ?served.drain_took,
        "http: drained"
    );
    Ok(served)
}

/// Starts serving one accepted connection.
fn accept(
    ctx: &Context,
    connections: &TaskTracker,
    stats: &Arc<Stats>,
    router: &Router,
    stream: TcpStream,
    remote: SocketAddr,
) {
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let _ = stream.set_nodelay(true);
    let conn = Arc::new(Conn {
        ctx: ctx.clone(),
        stats: stats.clone(),
        started: AtomicBool::new(false),
        first_request: Notify::new(),
        requests: AtomicU64::new(0),
        finished: AtomicU64::new(0),
    });
    let service = Service {
        router: router.clone(),
        remote,
        conn: conn.clone(),
    };
    connections.spawn(async move {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http2().enable_connect_protocol();
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = shutdown_begins(&conn) => {
                let in_flight = conn.requests.load(Ordering::Acquire)
                    .saturating_sub(conn.finished.load(Ordering::Acquire));
                conn.stats.in_flight_at_drain.fetch_add(in_flight, Ordering::Relaxed);
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = result {
            tracing::trace!(%remote, error = %e, "http: connection ended with an error");
        }
        conn.stats
            .requests
            .fetch_add(conn.requests.load(Ordering::Acquire), Ordering::Relaxed);
    });
}

/// Completes when this connection should start its graceful shutdown: when
/// the scope is cancelled, or, for a connection that has not sent a request
/// yet, when its first request arrives or its grace has passed.
async fn shutdown_begins(conn: &Conn) {
    conn.ctx.cancelled().await;
    if !conn.started.load(Ordering::Acquire) {
        let _ = tokio::time::timeout(NEW_CONNECTION_GRACE, conn.first_request.notified()).await;
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

fn is_fatal(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::NotConnected | io::ErrorKind::Unsupported
    )
}

/// The hyper service of one connection: adds the request's context and
/// peer address, counts the request, and calls the router.
#[derive(Clone)]
struct Service {
    router: Router,
    remote: SocketAddr,
    conn: Arc<Conn>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Service {
    type Response = Response;
    type Error = Infallible;
    type Future = Counted;

    fn call(&self, mut req: hyper::Request<Incoming>) -> Counted {
        let conn = &self.conn;
        if !conn.started.load(Ordering::Relaxed) && !conn.started.swap(true, Ordering::AcqRel) {
            conn.first_request.notify_one();
        }
        conn.requests.fetch_add(1, Ordering::Relaxed);
        let extensions = req.extensions_mut();
        extensions.insert(RequestConn(conn.clone()));
        extensions.insert(ConnectInfo(self.remote));
        let http1 = req.version() < axum::http::Version::HTTP_2;
        let mut router = self.router.clone();
        Counted {
            inner: tower_service::Service::call(&mut router, req),
            http1,
            request: RequestGuard { conn: conn.clone() },
        }
    }
}

/// Counts a request as finished when its response is ready or the request
/// is abandoned.
struct RequestGuard {
    conn: Arc<Conn>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.conn.finished.fetch_add(1, Ordering::Release);
        if self.conn.stats.is_draining() {
            self.conn.stats.drained.fetch_add(1, Ordering::Relaxed);
        }
    }
}

pin_project_lite::pin_project! {
    /// The router's response future, counted.
    struct Counted {
        #[pin]
        inner: axum::routing::future::RouteFuture<Infallible>,
        http1: bool,
        request: RequestGuard,
    }
}

impl Future for Counted {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Cx<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = std::task::ready!(this.inner.poll(cx));
        // A response completed during the drain closes its HTTP/1 connection,
        // even if it was ready before hyper heard of the shutdown.
        if *this.http1
            && this.request.conn.stats.is_draining()
            && response.status() != StatusCode::SWITCHING_PROTOCOLS
        {
            response
                .headers_mut()
                .entry(axum::http::header::CONNECTION)
                .or_insert(axum::http::HeaderValue::from_static("close"));
        }
        Poll::Ready(Ok(response))
    }
}
