//! One request: the hyper service of a connection hands it its context and
//! peer address (as extensions) and records it as in flight, from the call
//! until its response body has been sent (or abandoned). Its handler runs
//! isolated: one that panics is answered as a server error, and counted.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context as Cx, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::response::Response;
use hyper::body::{Frame, Incoming, SizeHint};

use super::body::Timed;
use super::conn::Conn;
use gracefully_runtime::Isolate;

/// The hyper service of one connection from a peer at `A`: adds the
/// request's context and peer address, records the request, and calls the
/// router.
#[derive(Clone)]
pub(super) struct Service<A> {
    pub(super) router: Router,
    /// The peer's address, if the server adds `ConnectInfo`.
    pub(super) peer: Option<A>,
    pub(super) conn: Arc<Conn>,
}

impl<A: Clone + Send + Sync + 'static> hyper::service::Service<hyper::Request<Incoming>>
    for Service<A>
{
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Counted;

    fn call(&self, req: hyper::Request<Incoming>) -> Counted {
        let conn = &self.conn;
        let mut req = req.map(|body| Timed::new(body, conn.clone()));
        let http1 = req.version() < Version::HTTP_2;
        // gRPC runs over HTTP/2 only.
        let grpc = !http1
            && req
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        let id = conn.begin(&req, http1);
        // The request's context (see `request_context::first_extensions`),
        // and what hyper put there (an extended CONNECT's protocol).
        let from_hyper = std::mem::replace(req.extensions_mut(), conn.server.extensions.clone());
        req.extensions_mut().extend(from_hyper);
        if let Some(peer) = &self.peer {
            req.extensions_mut().insert(ConnectInfo(peer.clone()));
        }
        let mut router = self.router.clone();
        let handler = tower_service::Service::call(&mut router, req);
        let name = Named {
            conn: conn.clone(),
            id,
        };
        Counted {
            inner: conn.server.ctx.isolate(name, handler),
            http1,
            grpc,
            request: Some(InFlight {
                began_draining: conn.server.is_draining(),
                conn: conn.clone(),
                id,
            }),
        }
    }
}

/// A request in flight: recorded in its connection's slot until dropped,
/// with the response body, once sent.
pub(super) struct InFlight {
    conn: Arc<Conn>,
    id: u64,
    /// Whether the server's drain had begun when the request came: if
    /// not, and it has when the request ends, the request was in flight at
    /// the drain. Counted here, by each request, because an HTTP/2 stream
    /// runs on a task of its own: one that the drain's cancellation ends
    /// may be gone before its connection's task hears of the drain.
    began_draining: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn.end(self.id);
        let server = &self.conn.server;
        if server.is_draining() {
            server.stats.drained.fetch_add(1, Ordering::Relaxed);
            if !self.began_draining {
                let stats = &server.stats;
                stats.in_flight_at_drain.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A request, as the report of its handler's panic names it.
pub(super) struct Named {
    conn: Arc<Conn>,
    id: u64,
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request {}", self.conn.request_name(self.id))
    }
}

pin_project_lite::pin_project! {
    /// The router's response future, run isolated; its request stays in
    /// flight in the response's body.
    pub(super) struct Counted {
        #[pin]
        inner: Isolate<axum::routing::future::RouteFuture<Infallible>, Named>,
        http1: bool,
        // Whether the request is gRPC's, which reads errors in its own way.
        grpc: bool,
        request: Option<InFlight>,
    }
}

impl Future for Counted {
    type Output = Result<Response<Tracked>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Cx<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match std::task::ready!(this.inner.poll(cx)) {
            Ok(Ok(response)) => response,
            // Reported by `isolate`, with its location.
            Err(_panic) => server_error(*this.grpc),
        };
        let request = this.request.take();
        // From the shutdown's request on (the lame duck included), a
        // response closes its HTTP/1 connection: the client leaves, and
        // opens its next connection while the server still accepts (or
        // elsewhere, once the load balancer took it out). During the drain,
        // even if the response was ready before hyper heard of it.
        if *this.http1
            && request.as_ref().is_some_and(|r| r.conn.server.leaving())
            && response.status() != StatusCode::SWITCHING_PROTOCOLS
        {
            response
                .headers_mut()
                .entry(header::CONNECTION)
                .or_insert(HeaderValue::from_static("close"));
        }
        Poll::Ready(Ok(response.map(|body| Tracked { body, request })))
    }
}

/// The answer to a request whose handler panicked: `500`, or for gRPC the
/// trailers-only response its clients read as an internal error (status
/// 13, `INTERNAL`). Nothing of the panic reaches the client.
fn server_error(grpc: bool) -> Response {
    if grpc {
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert("grpc-status", HeaderValue::from_static("13"));
        headers.insert(
            "grpc-message",
            HeaderValue::from_static("the request's handler panicked"),
        );
        return response;
    }
    let mut response = Response::new(Body::from("internal server error\n"));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request in flight until it has been
    /// sent, or dropped.
    pub(super) struct Tracked {
        #[pin]
        body: Body,
        request: Option<InFlight>,
    }
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Cx<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.body.poll_frame(cx));
        if frame.is_none() {
            this.request.take();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
