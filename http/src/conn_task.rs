//! The task of one connection: hyper serves it; a watchdog closes it when
//! a request head is too slow to arrive or when it stays idle; from the
//! shutdown's request on (the lame duck included) an HTTP/2 connection is
//! sent `GOAWAY` (an HTTP/1 one is told by its next response, see
//! `request`); at the drain it gets a grace to send one more request, then
//! hyper closes it gracefully, and what hyper would wait on forever (a
//! partial request head) is closed.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto::UpgradeableConnection;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use super::conn::Conn;
use super::request::Service;
use super::server_state::{ServerState, Streams};
use super::source;
use super::watchdog::{self, Counting, Verdict, Watchdog};

/// Serves one accepted connection until it closes.
pub(super) async fn serve<I, A>(
    server: Arc<ServerState>,
    io: I,
    addr: A,
    peer: String,
    permit: Option<OwnedSemaphorePermit>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: Clone + Send + Sync + 'static,
{
    let conn = Arc::new(Conn::new(server, peer));
    let service = Service {
        router: conn.server.router.clone(),
        peer: conn.server.settings.connect_info.then_some(addr),
        conn: conn.clone(),
    };
    let io = TokioIo::new(Counting {
        io,
        conn: conn.clone(),
    });
    let server = &conn.server;
    let connection = pin!(server.hyper.serve_connection_with_upgrades(io, service));
    let ended = serve_until_closed(&conn, connection).await;
    if let Some(Err(e)) = ended {
        report_error(&conn, &*e);
    }
    let requests = conn.requests.load(Ordering::Relaxed);
    if requests > 0 {
        server.stats.requests.fetch_add(requests, Ordering::Relaxed);
    }
    drop(permit);
}

/// What hyper's connection future yields.
type ConnResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Runs the connection until it ends (`Some`) or is closed here (`None`).
async fn serve_until_closed<I, A>(
    conn: &Conn,
    mut connection: Pin<&mut Connection<'_, I, A>>,
) -> Option<ConnResult>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: Clone + Send + Sync + 'static,
{
    let server = &conn.server;
    let mut watchdog = Watchdog::new(&server.settings);
    let mut sleep = pin!(watchdog.period.map(sleep));
    let mut cancelled = pin!(server.ctx.cancelled());
    let mut requested = pin!(server.ctx.shutdown_requested());
    // A waiting `Cancelled` or `Sleep` registers this task's waker at its
    // first poll and keeps it; polled again at every wake-up, the first
    // would take the scope's lock each time. So after that first poll, they
    // are polled again only once their flag says they are done (for the
    // shutdown's request, the process's state).
    let (mut cancel_waits, mut request_waits, mut sleep_waits) = (false, false, false);
    // Whether the shutdown was requested, and whether this connection was
    // sent `GOAWAY` since (an HTTP/2 one: one whose first request came).
    let (mut leaving, mut told) = (false, false);
    loop {
        let event = poll_fn(|cx| {
            // The cancellation first: a response that the same cancellation
            // ends (a stream) still counts as in flight at the drain, and
            // its connection closes after it.
            if (!cancel_waits || server.ctx.is_cancelled())
                && cancelled.as_mut().poll(cx).is_ready()
            {
                return Poll::Ready(Wake::Cancelled);
            }
            cancel_waits = true;
            if !leaving
                && (!request_waits || server.ctx.state().is_shutting_down())
                && requested.as_mut().poll(cx).is_ready()
            {
                return Poll::Ready(Wake::Leave);
            }
            request_waits = true;
            if let Poll::Ready(ended) = connection.as_mut().poll(cx) {
                return Poll::Ready(Wake::Ended(ended));
            }
            // Its first request may come after the shutdown's request.
            if leaving && !told && conn.is_http2() {
                return Poll::Ready(Wake::Leave);
            }
            if let Some(sleep) = sleep.as_mut().as_pin_mut()
                && watchdog::rang(sleep, &mut sleep_waits, cx)
            {
                return Poll::Ready(Wake::Watchdog);
            }
            Poll::Pending
        })
        .await;
        match event {
            Wake::Cancelled => break,
            Wake::Ended(ended) => return Some(ended),
            Wake::Leave => {
                // hyper sends `GOAWAY` and lets the streams in flight end,
                // as Envoy's drain does; the client opens its next
                // connection, which is accepted until the drain begins.
                leaving = true;
                if !told && conn.is_http2() {
                    told = true;
                    connection.as_mut().graceful_shutdown();
                }
                continue;
            }
            Wake::Watchdog => match watchdog.look(conn) {
                Verdict::Fine => {}
                Verdict::Idle => connection.as_mut().graceful_shutdown(),
                Verdict::Close => return None,
                Verdict::Late(timeout) => {
                    let peer = conn.peer();
                    tracing::debug!(%peer, ?timeout, "http: request head too slow, connection closed");
                    conn.server.log.stderr(format_args!(
                        "connection from {peer}: no complete request head within {timeout:?}; closed"
                    ));
                    return None;
                }
            },
        }
        if let (Some(sleep), Some(period)) = (sleep.as_mut().as_pin_mut(), watchdog.period) {
            sleep.reset(Instant::now() + period);
            sleep_waits = false;
        }
    }
    drain(conn, connection, watchdog.period).await
}

/// What ends a wait of [`serve_until_closed`].
enum Wake {
    Cancelled,
    /// The shutdown was requested, or since then the connection showed
    /// itself HTTP/2: time to tell it to leave.
    Leave,
    Ended(ConnResult),
    Watchdog,
}

/// The drain of one connection, whose watchdog looks every `period`.
async fn drain<I, A>(
    conn: &Conn,
    mut connection: Pin<&mut Connection<'_, I, A>>,
    period: Option<Duration>,
) -> Option<ConnResult>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: Clone + Send + Sync + 'static,
{
    let server = &conn.server;
    let grace = server.settings.grace;
    let in_flight = conn.in_flight();

    // Unless a request is in flight, the client may still send one within
    // the grace: a keep-alive client's next request may be on the wire. One
    // that was quiet for the grace already (an idle keep-alive connection
    // of a pool, a load balancer's spare) is closed at once, as Go's and
    // axum's `Shutdown` close idle connections: it is no more likely to send
    // a request now than at the end of a grace, and a thousand of them
    // would hold the exit for the whole of it.
    if in_flight == 0 && !grace.is_zero() && !conn.quiet_for(grace, period) {
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
    let mut stalled = 0;
    loop {
        if conn.reading_head() {
            // A request head that did not complete within the grace: hyper
            // would wait for the rest of it.
            return None;
        }
        let written = conn.written.load(Ordering::Relaxed);
        if let Ok(ended) = timeout(grace, connection.as_mut()).await {
            return Some(ended.or_else(ignore_cancelled));
        }
        // A response is in flight until its body is produced, and then
        // still being written while the write waits for the client.
        if !conn.write_waits.load(Ordering::Relaxed) {
            if conn.in_flight() == 0 {
                // Nothing in flight, and still not closed. A request
                // leaves the roster when its body ends, before hyper has
                // written the last of it (an HTTP/2 stream's trailers wait
                // in the connection's send queue, which polling the
                // connection flushes): closing at once could lose that
                // response, so the connection is polled a moment more.
                if let Ok(ended) = timeout(FLUSH, connection.as_mut()).await {
                    return Some(ended.or_else(ignore_cancelled));
                }
                return None;
            }
            stalled = 0;
        } else if conn.written.load(Ordering::Relaxed) == written {
            stalled += 1;
            if stalled == STALLED_GRACES {
                let peer = conn.peer();
                conn.server.log.stderr(format_args!(
                    "connection from {peer}: the client read none of its response for {:?} during the shutdown; closed",
                    grace * STALLED_GRACES
                ));
                return None;
            }
        } else {
            stalled = 0;
        }
    }
}

/// How long a connection with nothing in flight is still polled during
/// the drain, so that what hyper queued is written, before it is closed.
const FLUSH: Duration = Duration::from_millis(50);

/// During the drain, a connection whose client reads none of its response
/// for this many graces (5 s by default) is closed: a client that stopped
/// reading cannot hold the shutdown; one that reads slowly gets it all.
const STALLED_GRACES: u32 = 5;

/// hyper-util's connection ends with an "interrupted" error when its
/// graceful shutdown came before the first bytes: that is ours, not a failure.
fn ignore_cancelled(e: Box<dyn std::error::Error + Send + Sync>) -> ConnResult {
    match e.downcast_ref::<io::Error>() {
        Some(io) if io.kind() == io::ErrorKind::Interrupted => Ok(()),
        _ => Err(e),
    }
}

/// A connection that ended in an error: a `tracing` event, and on stderr
/// (rate-limited, without a subscriber) what the operator can act on.
fn report_error(conn: &Conn, e: &(dyn std::error::Error + 'static)) {
    let peer = conn.peer();
    tracing::debug!(%peer, error = %Chain(e), "http: connection ended with an error");
    let Some(hyper) = e.downcast_ref::<hyper::Error>() else {
        return;
    };
    let client_left = hyper.is_incomplete_message()
        || hyper.is_canceled()
        || hyper.is_closed()
        || std::error::Error::source(hyper)
            .and_then(|s| s.downcast_ref::<io::Error>())
            .is_some_and(source::is_connection_error);
    if !client_left {
        conn.server
            .log
            .stderr(format_args!("connection from {peer}: {}", Chain(e)));
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
type Connection<'a, I, A> = UpgradeableConnection<'a, TokioIo<Counting<I>>, Service<A>, Streams>;
