//! A request body that cannot stall the server: it fails when no byte
//! arrives for the [body read timeout](super::Server::body_read_timeout),
//! and, once the drain began, when it is not complete within the
//! [grace](super::Server::grace). The handler reading it gets the error
//! (axum's extractors answer `400`), and the connection closes.
//!
//! Nothing is allocated for a body that never makes its reader wait (no
//! body, or one that came with the head): the timer and the wait for the
//! drain are set up at the first wait.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as Cx, Poll};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep, sleep_until};

use super::conn::Conn;

/// A request's body, with its time limits.
pub(super) struct Timed {
    inner: Incoming,
    /// Its connection's (one whose count no other connection writes).
    conn: Arc<Conn>,
    /// Set at the first wait.
    waiting: Option<Waiting>,
}

struct Waiting {
    timer: Pin<Box<Sleep>>,
    /// Completes when the drain begins; `None` once it did.
    drain: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Timed {
    pub(super) fn new(inner: Incoming, conn: Arc<Conn>) -> Timed {
        Timed {
            inner,
            conn,
            waiting: None,
        }
    }

    fn idle(&self) -> Option<Duration> {
        self.conn.server.settings.body_read_timeout
    }
}

/// Far enough to mean "no limit" for a timer.
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Body for Timed {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Cx<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let idle = this.idle();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if let (Some(w), Some(idle)) = (&mut this.waiting, idle)
                && w.drain.is_some()
            {
                // Progress: the idle limit counts from now (the drain's does not move).
                w.timer.as_mut().reset(Instant::now() + idle);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let w = this.waiting.get_or_insert_with(|| {
            let ctx = this.conn.server.ctx.clone();
            Waiting {
                timer: Box::pin(sleep_until(Instant::now() + idle.unwrap_or(NEVER))),
                drain: Some(Box::pin(async move { ctx.cancelled().await })),
            }
        });
        let grace = this.conn.server.settings.grace;
        if let Some(drain) = &mut w.drain
            && drain.as_mut().poll(cx).is_ready()
        {
            w.drain = None;
            let limit = (Instant::now() + grace).min(w.timer.deadline());
            w.timer.as_mut().reset(limit);
        }
        if w.timer.as_mut().poll(cx).is_ready() {
            let why = if w.drain.is_none() {
                format!(
                    "request body not complete within the grace of {grace:?} after the shutdown began"
                )
            } else {
                format!(
                    "no byte of the request body for {:?}",
                    idle.unwrap_or(NEVER)
                )
            };
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                why,
            )
            .into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
