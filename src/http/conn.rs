//! One connection: hyper serves it; a watchdog closes it when its first
//! request is too slow to arrive or when it stays idle; at the drain it
//! gets a grace to send one more request, then hyper closes it gracefully,
//! and what hyper would wait on forever (a partial request head) is closed.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context as Cx, Poll};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::UpgradeableConnection;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep, sleep, sleep_until, timeout};

use super::engine::Shared;
use super::in_flight::Registered;
use super::request::Service;
use super::{listener, log};

/// One connection's state, shared by its task, its service, its requests
/// and its reads.
pub(super) struct Conn {
    pub(super) shared: Arc<Shared>,
    /// Its requests in flight, listed in reports.
    registered: Registered,
    /// Requests begun; also the next request's id.
    requests: AtomicU64,
    /// Bytes read from the client so far.
    read: AtomicU64,
    /// `read` when the last request in flight ended: bytes read beyond it,
    /// with no request in flight, are a request head on its way.
    read_when_idle: AtomicU64,
    /// Whether a request came over HTTP/2 (whose frames are not heads).
    http2: AtomicBool,
}

impl Conn {
    /// Records a request that begins, and returns its id.
    pub(super) fn begin(&self, req: &hyper::Request<hyper::body::Incoming>, http1: bool) -> u64 {
        // Only this connection's task calls the service: no other writer.
        let id = self.requests.load(Ordering::Relaxed);
        self.requests.store(id + 1, Ordering::Relaxed);
        if !http1 && !self.http2.load(Ordering::Relaxed) {
            self.http2.store(true, Ordering::Relaxed);
        }
        self.registered.slot.begin(id, req.method(), req.uri());
        id
    }

    /// Records the end of request `id` (its response was sent, or dropped).
    pub(super) fn end(&self, id: u64) {
        if self.registered.slot.end(id) == 0 {
            let read = self.read.load(Ordering::Relaxed);
            self.read_when_idle.store(read, Ordering::Relaxed);
        }
    }

    fn in_flight(&self) -> usize {
        self.registered.slot.len()
    }

    /// Whether hyper holds part of a request head and waits for the rest.
    fn reading_head(&self) -> bool {
        !self.http2.load(Ordering::Relaxed)
            && self.in_flight() == 0
            && self.read.load(Ordering::Relaxed) > self.read_when_idle.load(Ordering::Relaxed)
    }
}

/// Serves one accepted connection until it closes.
pub(super) async fn serve<I, A>(
    shared: Arc<Shared>,
    io: I,
    addr: A,
    peer: String,
    permit: Option<OwnedSemaphorePermit>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: Clone + Send + Sync + 'static,
{
    let conn = Arc::new(Conn {
        registered: shared.in_flight.register(peer),
        shared,
        requests: AtomicU64::new(0),
        read: AtomicU64::new(0),
        read_when_idle: AtomicU64::new(0),
        http2: AtomicBool::new(false),
    });
    let service = Service {
        router: conn.shared.router.clone(),
        peer: addr,
        conn: conn.clone(),
    };
    let io = TokioIo::new(Counting {
        io,
        conn: conn.clone(),
    });
    let shared = &conn.shared;
    let connection = pin!(shared.hyper.serve_connection_with_upgrades(io, service));
    let ended = serve_until_closed(&conn, connection).await;
    if let Some(Err(e)) = ended {
        report_error(&conn, &*e);
    }
    let requests = conn.requests.load(Ordering::Relaxed);
    shared.stats.requests.fetch_add(requests, Ordering::Relaxed);
    drop(permit);
}

/// What hyper's connection future yields.
type Ended = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Runs the connection until it ends (`Some`) or is closed here (`None`).
async fn serve_until_closed<I, A>(
    conn: &Conn,
    mut connection: Pin<&mut Connection<'_, I, A>>,
) -> Option<Ended>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: Clone + Send + Sync + 'static,
{
    let shared = &conn.shared;
    let options = &shared.options;
    // The watchdog: first whether the first request came in time, then,
    // lazily, whether the connection stays idle.
    let first = match (options.header_read_timeout, options.idle_timeout) {
        (Some(head), Some(idle)) => Some(head.min(idle)),
        (head, idle) => head.or(idle),
    };
    let mut watchdog = pin!(first.map(sleep));
    let mut seen = None;
    let mut shutting_down = false;
    loop {
        tokio::select! {
            // The cancellation first: a response that the same cancellation
            // ends (a stream) still counts as in flight at the drain, and
            // its connection closes after it.
            biased;
            () = shared.ctx.cancelled() => break,
            ended = connection.as_mut() => return Some(ended),
            () = fire(watchdog.as_mut()), if !shutting_down => {
                let requests = conn.requests.load(Ordering::Relaxed);
                if requests == 0 {
                    // No request head completed in time, or the connection
                    // stayed idle since its accept. (hyper's own header
                    // timer starts only once the first bytes told HTTP/1.)
                    return None;
                }
                let Some(idle) = options.idle_timeout else {
                    watchdog.set(None);
                    continue;
                };
                if conn.in_flight() == 0 && seen == Some(requests) {
                    // No request for a whole period: close, gracefully.
                    connection.as_mut().graceful_shutdown();
                    shutting_down = true;
                } else {
                    seen = Some(requests);
                    watchdog.set(Some(sleep(idle)));
                }
            }
        }
    }
    drain(conn, connection).await
}

/// Completes when the watchdog's sleep does; never without one.
async fn fire(watchdog: Pin<&mut Option<Sleep>>) {
    match watchdog.as_pin_mut() {
        Some(sleep) => sleep.await,
        None => std::future::pending().await,
    }
}

/// The drain of one connection.
async fn drain<I, A>(conn: &Conn, mut connection: Pin<&mut Connection<'_, I, A>>) -> Option<Ended>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: Clone + Send + Sync + 'static,
{
    let shared = &conn.shared;
    let grace = shared.options.grace;
    let in_flight = conn.in_flight();
    let stats = &shared.stats;
    stats
        .in_flight_at_drain
        .fetch_add(in_flight as u64, Ordering::Relaxed);

    // Unless a request is in flight, the client may still send one within
    // the grace: a keep-alive client's next request may be on the wire.
    if in_flight == 0 {
        let mut grace_ends = pin!(sleep_until(Instant::now() + grace));
        let ended = poll_fn(|cx| {
            if let Poll::Ready(ended) = connection.as_mut().poll(cx) {
                return Poll::Ready(Some(ended));
            }
            if conn.in_flight() > 0 || grace_ends.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        if ended.is_some() {
            return ended;
        }
    }

    // hyper answers what is in flight with `Connection: close` (HTTP/2:
    // `GOAWAY`), then closes; an idle connection closes at once.
    connection.as_mut().graceful_shutdown();
    loop {
        if conn.reading_head() {
            // A request head that did not complete within the grace: hyper
            // would wait for the rest of it.
            return None;
        }
        match timeout(grace, connection.as_mut()).await {
            Ok(ended) => return Some(ended.or_else(ignore_cancelled)),
            // Nothing in flight, and still not closed: close it.
            Err(_) if conn.in_flight() == 0 => return None,
            Err(_) => {}
        }
    }
}

/// hyper-util's connection ends with an "interrupted" error when its
/// graceful shutdown came before the first bytes: that is ours, not a failure.
fn ignore_cancelled(e: Box<dyn std::error::Error + Send + Sync>) -> Ended {
    match e.downcast_ref::<io::Error>() {
        Some(io) if io.kind() == io::ErrorKind::Interrupted => Ok(()),
        _ => Err(e),
    }
}

/// A connection that ended in an error: a `tracing` event, and on stderr
/// (rate-limited, without a subscriber) what the operator can act on.
fn report_error(conn: &Conn, e: &(dyn std::error::Error + 'static)) {
    let peer = conn.registered.peer();
    tracing::debug!(%peer, error = %Chain(e), "http: connection ended with an error");
    let Some(hyper) = e.downcast_ref::<hyper::Error>() else {
        return;
    };
    let client_left = hyper.is_incomplete_message()
        || hyper.is_canceled()
        || hyper.is_closed()
        || std::error::Error::source(hyper)
            .and_then(|s| s.downcast_ref::<io::Error>())
            .is_some_and(listener::is_connection_error);
    if !client_left {
        log::stderr(format_args!("connection from {peer}: {}", Chain(e)));
    }
}

/// An error and its sources: `connection error: connection reset by peer`.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

/// hyper's connection future for one connection.
type Connection<'a, I, A> =
    UpgradeableConnection<'a, TokioIo<Counting<I>>, Service<A>, TokioExecutor>;

pin_project_lite::pin_project! {
    /// A connection's IO, counting what it reads.
    struct Counting<I> {
        #[pin]
        io: I,
        conn: Arc<Conn>,
    }
}

impl<I: AsyncRead> AsyncRead for Counting<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Cx<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let polled = this.io.poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        if n > 0 {
            // Only this connection's task reads: no other writer.
            let read = &this.conn.read;
            read.store(read.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        }
        polled
    }
}

impl<I: AsyncWrite> AsyncWrite for Counting<I> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Cx<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Cx<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Cx<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Cx<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}
