//! The watchdog of a connection, and the reads it looks at.
//!
//! It costs nothing per request. hyper's own header-read timer
//! (`http1::Builder::header_read_timeout`, with a timer) starts a tokio
//! sleep for every request and polls the socket once more after every
//! response to arm it: about 1 000 instructions a request, 2.5% of the
//! throughput of a small handler. And it counts from the end of the
//! previous response, so it would also close idle keep-alive connections
//! that a load balancer in front may be about to use. Here the reads mark
//! where a head begins, and one sleep per connection, re-armed every
//! quarter of the shorter timeout, looks at those marks.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context as Cx, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::conn::Conn;
use super::settings::Settings;

/// Looks at a connection every quarter of its shortest timeout.
pub(super) struct Watchdog {
    pub(super) period: Option<Duration>,
    header_read_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    /// Requests begun at the last look.
    seen: u64,
    /// Looks in a row that found the connection idle.
    idle: u32,
    /// Whether the connection was asked to close for being idle.
    closing: bool,
}

/// What the watchdog found.
pub(super) enum Verdict {
    Fine,
    /// Idle for the idle timeout: close gracefully.
    Idle,
    /// A request head not complete within this timeout: drop.
    Late(Duration),
    /// Asked to close for being idle, and still open: drop.
    Close,
}

impl Watchdog {
    pub(super) fn new(settings: &Settings) -> Watchdog {
        let shortest = match (settings.header_read_timeout, settings.idle_timeout) {
            (Some(head), Some(idle)) => Some(head.min(idle)),
            (head, idle) => head.or(idle),
        };
        Watchdog {
            period: shortest.map(|d| d / 4),
            header_read_timeout: settings.header_read_timeout,
            idle_timeout: settings.idle_timeout,
            seen: 0,
            idle: 0,
            closing: false,
        }
    }

    /// Looks at `conn`, at the end of a period.
    pub(super) fn look(&mut self, conn: &Conn) -> Verdict {
        let Some(period) = self.period else {
            return Verdict::Fine;
        };
        let ticks = conn.ticks.load(Ordering::Relaxed) + 1;
        conn.ticks.store(ticks, Ordering::Relaxed);
        // At least this long ago, counted in looks.
        let ago = |looks: u64| period * u32::try_from(looks).unwrap_or(u32::MAX);
        let requests = conn.requests.load(Ordering::Relaxed);
        let reading_head = conn.reading_head();
        if let Some(timeout) = self.header_read_timeout {
            // A connection's first request counts from the accept; a later
            // one from the first bytes of its head.
            let late = if requests == 0 {
                ago(ticks) >= timeout
            } else {
                let began = conn.head_began.load(Ordering::Relaxed);
                reading_head && ago((ticks - began).saturating_sub(1)) >= timeout
            };
            if late {
                return Verdict::Late(timeout);
            }
        }
        let busy = conn.in_flight() > 0 || reading_head || requests != self.seen;
        self.seen = requests;
        if busy {
            self.idle = 0;
            return Verdict::Fine;
        }
        self.idle += 1;
        if self.closing {
            // Asked to close, nothing in flight, and still open.
            return Verdict::Close;
        }
        match self.idle_timeout {
            Some(timeout) if ago(u64::from(self.idle - 1)) >= timeout => {
                self.closing = true;
                Verdict::Idle
            }
            _ => Verdict::Fine,
        }
    }
}

/// Whether the watchdog's timer `sleep` fired. It is polled at the first
/// call after it was set (`waits` false), and then only once it says it
/// elapsed: polled again at every wake-up of a busy connection, it would
/// take the timer wheel's lock each time.
///
/// The poll is outside the task's coop budget: a first poll that found the
/// budget spent (a busy connection's reads and writes spend it) would
/// return `Pending` without arming the timer, and the watchdog of that
/// connection would never look again: no header read or idle timeout, and
/// at the drain, never counted quiet.
pub(super) fn rang(sleep: Pin<&mut Sleep>, waits: &mut bool, cx: &mut Cx<'_>) -> bool {
    if *waits && !sleep.is_elapsed() {
        return false;
    }
    *waits = true;
    pin!(tokio::task::unconstrained(sleep)).poll(cx).is_ready()
}

pin_project_lite::pin_project! {
    /// A connection's IO, counting what it reads.
    pub(super) struct Counting<I> {
        #[pin]
        pub(super) io: I,
        pub(super) conn: Arc<Conn>,
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
            let conn = &this.conn;
            let before = conn.read.load(Ordering::Relaxed);
            conn.read.store(before + n, Ordering::Relaxed);
            if before == conn.read_when_idle.load(Ordering::Relaxed) {
                // The first bytes since the last response: a head begins.
                let ticks = conn.ticks.load(Ordering::Relaxed);
                conn.head_began.store(ticks, Ordering::Relaxed);
            }
        }
        polled
    }
}

impl<I: AsyncWrite> AsyncWrite for Counting<I> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Cx<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.project();
        wrote(this.conn, this.io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Cx<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        wrote(this.conn, this.io.poll_write_vectored(cx, bufs))
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

/// Counts what a write wrote, and whether the client's receive window is
/// full (the write waits): a response the client does not read.
fn wrote(conn: &Conn, polled: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
    // Only this connection's task writes: no other writer.
    match &polled {
        Poll::Ready(Ok(n)) if *n > 0 => {
            let before = conn.written.load(Ordering::Relaxed);
            conn.written.store(before + *n as u64, Ordering::Relaxed);
            if conn.write_waits.load(Ordering::Relaxed) {
                conn.write_waits.store(false, Ordering::Relaxed);
            }
        }
        Poll::Pending => conn.write_waits.store(true, Ordering::Relaxed),
        Poll::Ready(_) => {}
    }
    polled
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    /// A first poll made with the task's budget spent still arms the timer.
    #[tokio::test(start_paused = true)]
    async fn the_timer_is_armed_when_the_budget_is_spent() {
        let mut sleep = pin!(tokio::time::sleep(Duration::from_secs(1)));
        let mut waits = false;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..1_000 {
            tx.send(()).unwrap();
        }
        poll_fn(|cx| {
            // Receives until the budget is spent and `poll_recv` says `Pending`.
            while rx.poll_recv(cx).is_ready() {}
            assert!(!rang(sleep.as_mut(), &mut waits, cx));
            Poll::Ready(())
        })
        .await;
        let rings = poll_fn(|cx| {
            if rang(sleep.as_mut(), &mut waits, cx) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        tokio::time::timeout(Duration::from_secs(5), rings)
            .await
            .expect("the timer fired after its second");
    }
}
