//! One connection: hyper serves it; a watchdog closes it when a request
//! head is too slow to arrive or when it stays idle; at the drain it gets a
//! grace to send one more request, then hyper closes it gracefully, and
//! what hyper would wait on forever (a partial request head) is closed.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::UpgradeableConnection;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use super::engine::Shared;
use super::in_flight::Registered;
use super::listener;
use super::request::Service;
use super::watchdog::{self, Counting, Verdict, Watchdog};

/// One connection's state, shared by its task, its service, its requests
/// and its reads.
pub(super) struct Conn {
    pub(super) shared: Arc<Shared>,
    /// Its requests in flight, listed in reports.
    registered: Registered,
    /// Requests begun; also the next request's id.
    pub(super) requests: AtomicU64,
    /// Bytes read from the client so far.
    pub(super) read: AtomicU64,
    /// Bytes written to the client so far.
    pub(super) written: AtomicU64,
    /// Whether the last write waited for the client to read (its receive
    /// window is full).
    pub(super) write_waits: AtomicBool,
    /// `read` when the last request in flight ended: bytes read beyond it,
    /// with no request in flight, are a request head on its way.
    pub(super) read_when_idle: AtomicU64,
    /// Whether a request came over HTTP/2 (whose frames are not heads).
    http2: AtomicBool,
    /// How many times the watchdog looked.
    pub(super) ticks: AtomicU64,
    /// `ticks` when the first bytes of the request head on its way arrived.
    pub(super) head_began: AtomicU64,
    /// `ticks` when the connection last became idle: accepted, or its last
    /// request in flight ended.
    idle_since: AtomicU64,
}

impl Conn {
    /// Records a request that begins, and returns its id.
    pub(super) fn begin<B>(&self, req: &hyper::Request<B>, http1: bool) -> u64 {
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
            let ticks = self.ticks.load(Ordering::Relaxed);
            self.idle_since.store(ticks, Ordering::Relaxed);
        }
    }

    pub(super) fn in_flight(&self) -> usize {
        self.registered.slot.len()
    }

    /// Whether nothing came or went for at least `grace`, as the watchdog,
    /// looking every `period`, saw it: nothing in flight, no head on its
    /// way, and two looks or more since the connection became idle (at least
    /// a period between the first and the last of them).
    fn quiet_for(&self, grace: Duration, period: Option<Duration>) -> bool {
        let Some(period) = period else {
            return false;
        };
        let looks = self.ticks.load(Ordering::Relaxed) - self.idle_since.load(Ordering::Relaxed);
        self.in_flight() == 0
            && !self.reading_head()
            && u32::try_from(looks.saturating_sub(1))
                .ok()
                .and_then(|n| period.checked_mul(n))
                .is_none_or(|quiet| quiet >= grace)
    }

    /// Whether hyper holds part of a request head and waits for the rest.
    pub(super) fn reading_head(&self) -> bool {
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
        written: AtomicU64::new(0),
        write_waits: AtomicBool::new(false),
        read_when_idle: AtomicU64::new(0),
        http2: AtomicBool::new(false),
        ticks: AtomicU64::new(0),
        head_began: AtomicU64::new(0),
        idle_since: AtomicU64::new(0),
    });
    let service = Service {
        router: conn.shared.router.clone(),
        peer: conn.shared.options.connect_info.then_some(addr),
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
    if requests > 0 {
        shared.stats.requests.fetch_add(requests, Ordering::Relaxed);
    }
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
    let mut watchdog = Watchdog::new(&shared.options);
    let mut sleep = pin!(watchdog.period.map(sleep));
    let mut cancelled = pin!(shared.ctx.cancelled());
    // A waiting `Cancelled` or `Sleep` registers this task's waker at its
    // first poll and keeps it; polled again at every wake-up, the first
    // would take the scope's lock each time. So after that first poll, they
    // are polled again only once their flag says they are done.
    let (mut cancel_waits, mut sleep_waits) = (false, false);
    loop {
        let event = poll_fn(|cx| {
            // The cancellation first: a response that the same cancellation
            // ends (a stream) still counts as in flight at the drain, and
            // its connection closes after it.
            if (!cancel_waits || shared.ctx.is_cancelled())
                && cancelled.as_mut().poll(cx).is_ready()
            {
                return Poll::Ready(Event::Cancelled);
            }
            cancel_waits = true;
            if let Poll::Ready(ended) = connection.as_mut().poll(cx) {
                return Poll::Ready(Event::Ended(ended));
            }
            if let Some(sleep) = sleep.as_mut().as_pin_mut()
                && watchdog::rang(sleep, &mut sleep_waits, cx)
            {
                return Poll::Ready(Event::Watchdog);
            }
            Poll::Pending
        })
        .await;
        match event {
            Event::Cancelled => break,
            Event::Ended(ended) => return Some(ended),
            Event::Watchdog => match watchdog.look(conn) {
                Verdict::Fine => {}
                Verdict::Idle => connection.as_mut().graceful_shutdown(),
                Verdict::Close => return None,
                Verdict::Late(timeout) => {
                    let peer = conn.registered.peer();
                    tracing::debug!(%peer, ?timeout, "http: request head too slow, connection closed");
                    conn.shared.log.stderr(format_args!(
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
enum Event {
    Cancelled,
    Ended(Ended),
    Watchdog,
}

/// The drain of one connection, whose watchdog looks every `period`.
async fn drain<I, A>(
    conn: &Conn,
    mut connection: Pin<&mut Connection<'_, I, A>>,
    period: Option<Duration>,
) -> Option<Ended>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: Clone + Send + Sync + 'static,
{
    let shared = &conn.shared;
    let grace = shared.options.grace;
    let in_flight = conn.in_flight();
    if in_flight > 0 {
        // A line every connection shares: written only when there is news.
        let stats = &shared.stats;
        stats
            .in_flight_at_drain
            .fetch_add(in_flight as u64, Ordering::Relaxed);
    }

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
                return None; // nothing in flight, and still not closed
            }
            stalled = 0;
        } else if conn.written.load(Ordering::Relaxed) == written {
            stalled += 1;
            if stalled == STALLED_GRACES {
                let peer = conn.registered.peer();
                conn.shared.log.stderr(format_args!(
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

/// During the drain, a connection whose client reads none of its response
/// for this many graces (5 s by default) is closed: a client that stopped
/// reading cannot hold the shutdown; one that reads slowly gets it all.
pub(super) const STALLED_GRACES: u32 = 5;

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
        conn.shared
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
type Connection<'a, I, A> =
    UpgradeableConnection<'a, TokioIo<Counting<I>>, Service<A>, TokioExecutor>;
