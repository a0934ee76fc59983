//! The engine behind [`serve`](super::serve): a [`Server`] (what it serves
//! and how), the state its accept loop shares with its connections, and the
//! three phases of a run: accept until cancelled; sweep the kernel's backlog
//! and close the listener; wait for the connections and say what was served.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::{BACKLOG, NEW_CONNECTION_GRACE, Served, conn};
use crate::{Context, State, TaskHandle};

/// At most this many connections already queued by the kernel are still
/// accepted when the listener stops.
const BACKLOG_SWEEP: usize = BACKLOG as usize;

/// The pause after a failed accept (out of file descriptors or memory); it
/// doubles with every failure in a row, up to [`ACCEPT_RETRY_MAX`].
const ACCEPT_RETRY_FIRST: Duration = Duration::from_millis(10);

/// The longest pause between two failed accepts.
const ACCEPT_RETRY_MAX: Duration = Duration::from_millis(320);

/// What a server serves and how. [`serve`](super::serve) builds one with the
/// defaults; a public builder of options (header timeout, grace, maximum
/// connections) grows from here, each option a field that the connections
/// read through [`Shared::server`].
pub(crate) struct Server {
    pub(super) router: Router,
    /// How long a connection accepted before the drain, whose first request
    /// has not arrived yet, may still take to send it.
    pub(super) grace: Duration,
}

impl Server {
    pub(crate) fn new(router: Router) -> Self {
        Server {
            router,
            grace: NEW_CONNECTION_GRACE,
        }
    }

    /// Serves on `listener` as a task of a new child scope of `ctx`, named
    /// `http`, and returns the task's handle at once.
    #[track_caller]
    pub(crate) fn serve(
        self,
        ctx: &Context,
        listener: TcpListener,
    ) -> TaskHandle<io::Result<Served>> {
        let scope = ctx.scope("http");
        let name = match listener.local_addr() {
            Ok(addr) => format!("serve http://{addr}"),
            Err(_) => "serve http".to_owned(),
        };
        scope.spawn(name, self.run(scope.clone(), listener))
    }

    async fn run(self, ctx: Context, listener: TcpListener) -> io::Result<Served> {
        let local_addr = listener.local_addr()?;
        tracing::info!(addr = %local_addr, scope = %ctx.path(), "http: serving");
        let accepting = Accepting {
            shared: Arc::new(Shared {
                ctx,
                server: self,
                draining: AtomicBool::new(false),
                stats: Stats::default(),
            }),
            connections: TaskTracker::new(),
            local_addr,
        };

        if let Err(e) = accepting.accept_until_cancelled(&listener).await {
            tracing::error!(addr = %local_addr, error = %e, "http: listener unusable");
            // Let the connections we have finish before failing.
            accepting.shared.start_drain();
            accepting.wait_for_connections().await;
            return Err(e);
        }

        // The drain: from here on, every completed request counts as drained.
        let drain_began = Instant::now();
        accepting.shared.start_drain();
        accepting.sweep_backlog_and_close(listener)?;
        Ok(accepting.drained(drain_began).await)
    }
}

/// What the accept loop and every connection of one server share.
pub(super) struct Shared {
    /// The server's `http` scope: cancelled when the drain begins, and the
    /// context of every request.
    pub(super) ctx: Context,
    pub(super) server: Server,
    /// Set by the accept loop when the drain begins.
    draining: AtomicBool,
    pub(super) stats: Stats,
}

impl Shared {
    fn start_drain(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Whether the drain began: set by the accept loop, but a handler woken
    /// by the same cancellation may answer first, so also ask the scope
    /// (only while the process drains, to keep a lock off the hot path).
    pub(super) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
            || (self.ctx.state() == State::Draining && self.ctx.is_cancelled())
    }
}

/// What a server counts, added up into [`Served`]. Requests are counted by
/// their connection (no cache line shared between connections is written
/// per request) and added here when the connection ends.
#[derive(Default)]
pub(super) struct Stats {
    pub(super) connections: AtomicU64,
    pub(super) requests: AtomicU64,
    pub(super) in_flight_at_drain: AtomicU64,
    pub(super) drained: AtomicU64,
}

/// The accept loop's side of a running server: the state it shares with the
/// connections, and the connections it started.
struct Accepting {
    shared: Arc<Shared>,
    connections: TaskTracker,
    local_addr: SocketAddr,
}

impl Accepting {
    /// Accepts connections until the scope is cancelled. Accept errors are
    /// retried; `Err` only if the listener itself is unusable.
    async fn accept_until_cancelled(&self, listener: &TcpListener) -> io::Result<()> {
        let ctx = &self.shared.ctx;
        let mut pause = ACCEPT_RETRY_FIRST;
        loop {
            let accepted = tokio::select! {
                biased;
                () = ctx.cancelled() => return Ok(()),
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, remote)) => {
                    pause = ACCEPT_RETRY_FIRST;
                    self.accept(stream, remote);
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) if is_fatal(&e) => return Err(e),
                Err(e) => {
                    // Out of file descriptors or memory: back off, keep serving.
                    tracing::warn!(
                        addr = %self.local_addr,
                        error = %e,
                        ?pause,
                        "http: accept failed, retrying"
                    );
                    ctx.run_until_cancelled(tokio::time::sleep(pause)).await;
                    pause = (pause * 2).min(ACCEPT_RETRY_MAX);
                }
            }
        }
    }

    /// Serves the clients whose connection the kernel already completed
    /// (they think they are connected) rather than resetting them, then
    /// closes the listener: from here on, new connections are refused.
    fn sweep_backlog_and_close(&self, listener: TcpListener) -> io::Result<()> {
        let listener = listener.into_std()?;
        for _ in 0..BACKLOG_SWEEP {
            match listener.accept() {
                Ok((stream, remote)) => {
                    let stream = stream
                        .set_nonblocking(true)
                        .and_then(|()| TcpStream::from_std(stream));
                    if let Ok(stream) = stream {
                        self.accept(stream, remote);
                    }
                }
                Err(e) if is_connection_error(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break, // WouldBlock: the queue is empty
            }
        }
        drop(listener);
        tracing::info!(
            addr = %self.local_addr,
            connections = self.connections.len(),
            "http: listener closed, draining connections"
        );
        Ok(())
    }

    /// Waits for every connection to close, and says what was served.
    async fn drained(self, drain_began: Instant) -> Served {
        self.wait_for_connections().await;
        let stats = &self.shared.stats;
        let served = Served {
            local_addr: self.local_addr,
            connections: stats.connections.load(Ordering::Acquire),
            requests: stats.requests.load(Ordering::Acquire),
            in_flight_at_drain: stats.in_flight_at_drain.load(Ordering::Acquire),
            drained: stats.drained.load(Ordering::Acquire),
            drain_took: drain_began.elapsed(),
        };
        tracing::info!(
            addr = %self.local_addr,
            requests = served.requests,
            drained = served.drained,
            took = ?served.drain_took,
            "http: drained"
        );
        served
    }

    fn accept(&self, stream: TcpStream, remote: SocketAddr) {
        self.shared
            .stats
            .connections
            .fetch_add(1, Ordering::Relaxed);
        self.connections
            .spawn(conn::serve(self.shared.clone(), stream, remote));
    }

    async fn wait_for_connections(&self) {
        self.connections.close();
        self.connections.wait().await;
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
