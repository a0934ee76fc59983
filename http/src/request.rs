//! One request: the hyper service of a connection hands it its context and
//! peer address (as extensions) and records it as in flight, from the call
//! until its response body has been sent (or abandoned).

use std::convert::Infallible;
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
        let id = conn.begin(&req, http1);
        // The request's context (see `request_context::first_extensions`),
        // and what hyper put there (an extended CONNECT's protocol).
        let from_hyper = std::mem::replace(req.extensions_mut(), conn.server.extensions.clone());
        req.extensions_mut().extend(from_hyper);
        if let Some(peer) = &self.peer {
            req.extensions_mut().insert(ConnectInfo(peer.clone()));
        }
        let mut router = self.router.clone();
        Counted {
            inner: tower_service::Service::call(&mut router, req),
            http1,
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

pin_project_lite::pin_project! {
    /// The router's response future; its request stays in flight in the
    /// response's body.
    pub(super) struct Counted {
        #[pin]
        inner: axum::routing::future::RouteFuture<Infallible>,
        http1: bool,
        request: Option<InFlight>,
    }
}

impl Future for Counted {
    type Output = Result<Response<Tracked>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Cx<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = std::task::ready!(this.inner.poll(cx));
        let request = this.request.take();
        // A response completed during the drain closes its HTTP/1 connection,
        // even if it was ready before hyper heard of the shutdown.
        if *this.http1
            && request
                .as_ref()
                .is_some_and(|r| r.conn.server.is_draining())
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
