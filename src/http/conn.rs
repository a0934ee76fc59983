//! One connection: hyper serves it with a [`Service`] that hands each
//! request its context and peer address and counts it; the connection starts
//! its own graceful shutdown when the drain begins.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context as Cx, Poll};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Extensions, StatusCode};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::server::Shared;
use crate::Context;

/// One connection: the server it belongs to, its request counters, and
/// whether a request arrived yet (to give a fresh connection its grace at
/// shutdown). Its requests are counted here and added to the server's
/// [`Stats`](super::server::Stats) when it ends.
struct Conn {
    shared: Arc<Shared>,
    started: AtomicBool,
    first_request: Notify,
    requests: AtomicU64,
    finished: AtomicU64,
}

impl Conn {
    /// Completes when this connection should start its graceful shutdown:
    /// when the scope is cancelled, or, for a connection that has not sent a
    /// request yet, when its first request arrives or its grace has passed.
    async fn shutdown_begins(&self) {
        self.shared.ctx.cancelled().await;
        if !self.started.load(Ordering::Acquire) {
            let grace = self.shared.server.grace;
            let _ = tokio::time::timeout(grace, self.first_request.notified()).await;
        }
    }
}

/// Serves one accepted connection until it closes.
pub(super) async fn serve(shared: Arc<Shared>, stream: TcpStream, remote: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let service = Service {
        router: shared.server.router.clone(),
        remote,
        conn: Arc::new(Conn {
            shared,
            started: AtomicBool::new(false),
            first_request: Notify::new(),
            requests: AtomicU64::new(0),
            finished: AtomicU64::new(0),
        }),
    };
    let conn = service.conn.clone();
    let stats = &conn.shared.stats;

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http2().enable_connect_protocol();
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = conn.shutdown_begins() => {
            let in_flight = conn.requests.load(Ordering::Acquire)
                .saturating_sub(conn.finished.load(Ordering::Acquire));
            stats.in_flight_at_drain.fetch_add(in_flight, Ordering::Relaxed);
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::trace!(%remote, error = %e, "http: connection ended with an error");
    }
    stats
        .requests
        .fetch_add(conn.requests.load(Ordering::Acquire), Ordering::Relaxed);
}

/// The context of the request whose extensions these are, if its router is
/// served by [`serve`](super::serve).
pub(super) fn request_context(extensions: &Extensions) -> Option<&Context> {
    extensions
        .get::<RequestConn>()
        .map(|conn| &conn.0.shared.ctx)
}

/// The request extension [`request_context`] reads: the connection, from
/// which the context is cloned only when a handler asks for it.
#[derive(Clone)]
struct RequestConn(Arc<Conn>);

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
        let shared = &self.conn.shared;
        if shared.is_draining() {
            shared.stats.drained.fetch_add(1, Ordering::Relaxed);
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
            && this.request.conn.shared.is_draining()
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
