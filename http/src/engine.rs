//! The engine behind [`Server`](super::Server): the state its accept loop
//! shares with its connections, and the three phases of a run: accept
//! until cancelled; sweep the kernel's queue and close the listener; wait
//! for the connections and say what was served.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::in_flight::Registry;
use super::listener::{self, Source};
use super::log::Throttle;
use super::server::Options;
use super::{Served, conn};
use gracefully_runtime::{Context, State};

/// The pause after a failed accept (out of file descriptors or memory); it
/// doubles with every failure in a row, up to [`ACCEPT_RETRY_MAX`].
const ACCEPT_RETRY_FIRST: Duration = Duration::from_millis(10);

/// The longest pause between two failed accepts.
const ACCEPT_RETRY_MAX: Duration = Duration::from_millis(320);

/// What the accept loop and every connection of one server share.
pub(super) struct Shared {
    /// The server's scope: cancelled when the drain begins, and the context
    /// of every request.
    pub(super) ctx: Context,
    pub(super) router: Router,
    pub(super) options: Options,
    /// hyper's connection builder, configured once.
    pub(super) hyper: auto::Builder<TokioExecutor>,
    /// Set by the accept loop when the drain begins.
    draining: AtomicBool,
    pub(super) stats: Stats,
    pub(super) in_flight: Arc<Registry>,
    /// Its lines on stderr, at most one a second.
    pub(super) log: Throttle,
}

impl Shared {
    fn start_drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the drain began: set by the accept loop, but a handler woken
    /// by the same cancellation may answer first, so also ask the scope
    /// (only while the process drains, to keep a lock off the hot path).
    pub(super) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
            || (self.ctx.is_cancelled() && self.ctx.state() == State::Draining)
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

/// Serves `source` until `ctx` is cancelled, then drains.
pub(super) async fn run<S: Source>(
    ctx: Context,
    router: Router,
    options: Options,
    mut source: S,
) -> io::Result<Served> {
    let name = source.name();
    tracing::info!(listener = %name, scope = %ctx.path(), "http: serving");
    // The header read timeout is the connections' own (see `conn`).
    let mut hyper = auto::Builder::new(TokioExecutor::new());
    hyper.http1().header_read_timeout(None);
    let mut http2 = hyper.http2();
    http2.enable_connect_protocol();
    if let Some((interval, timeout)) = options.http2_keep_alive {
        http2
            .timer(TokioTimer::new())
            .keep_alive_interval(interval)
            .keep_alive_timeout(timeout);
    }
    let in_flight = Arc::new(Registry::new(options.list_requests));
    ctx.describe({
        let in_flight = in_flight.clone();
        move || in_flight.describe()
    });
    let accepting = Accepting {
        shared: Arc::new(Shared {
            ctx,
            // Its handlers made into routes once, as `axum::serve` has them
            // (`into_make_service`); otherwise every request would box its
            // handler again.
            router: router.with_state(()),
            hyper,
            draining: AtomicBool::new(false),
            stats: Stats::default(),
            in_flight,
            options,
            log: Throttle::default(),
        }),
        connections: TaskTracker::new(),
        name,
    };

    if let Err(e) = accepting.accept_until_cancelled(&mut source).await {
        tracing::error!(listener = %accepting.name, error = %e, "http: listener unusable");
        accepting
            .shared
            .log
            .stderr(format_args!("{}: listener unusable: {e}", accepting.name));
        // Let the connections we have finish before failing.
        accepting.shared.start_drain();
        accepting.wait_for_connections().await;
        return Err(e);
    }

    // The drain: from here on, every completed request counts as drained.
    let drain_began = Instant::now();
    accepting.shared.start_drain();
    source.sweep_and_close(|io, addr| accepting.accept::<S>(io, addr, None));
    tracing::info!(
        listener = %accepting.name,
        connections = accepting.connections.len(),
        "http: listener closed, draining connections"
    );
    Ok(accepting.drained(drain_began).await)
}

/// The accept loop's side of a running server: the state it shares with the
/// connections, and the connections it started.
struct Accepting {
    shared: Arc<Shared>,
    connections: TaskTracker,
    name: String,
}

impl Accepting {
    /// Accepts connections until the scope is cancelled, at most
    /// `max_connections` at a time: past that, the next connections wait in
    /// the kernel's queue. Accept errors are retried; `Err` only if the
    /// listener itself is unusable.
    async fn accept_until_cancelled<S: Source>(&self, source: &mut S) -> io::Result<()> {
        let ctx = &self.shared.ctx;
        let open = Arc::new(Semaphore::new(self.shared.options.max_connections));
        let mut pause = ACCEPT_RETRY_FIRST;
        loop {
            let permit = match open.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    self.full();
                    tokio::select! {
                        biased;
                        () = ctx.cancelled() => return Ok(()),
                        permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                    }
                }
            };
            let accepted = tokio::select! {
                biased;
                () = ctx.cancelled() => return Ok(()),
                accepted = source.accept() => accepted,
            };
            match accepted {
                Ok((io, addr)) => {
                    pause = ACCEPT_RETRY_FIRST;
                    self.accept::<S>(io, addr, Some(permit));
                }
                Err(e) if listener::is_connection_error(&e) => {}
                Err(e) if listener::is_fatal(&e) => return Err(e),
                Err(e) => {
                    // Out of file descriptors or memory: back off, keep serving.
                    tracing::warn!(listener = %self.name, error = %e, ?pause, "http: accept failed, retrying");
                    self.shared.log.stderr(format_args!(
                        "{}: accept failed, retrying in {pause:?}: {e}",
                        self.name
                    ));
                    ctx.run_until_cancelled(tokio::time::sleep(pause)).await;
                    pause = (pause * 2).min(ACCEPT_RETRY_MAX);
                }
            }
        }
    }

    /// Says that the server has as many connections as it may.
    fn full(&self) {
        let max = self.shared.options.max_connections;
        tracing::warn!(listener = %self.name, max, "http: at the maximum of open connections; new ones wait in the listen queue");
        self.shared.log.stderr(format_args!(
            "{}: {max} connections open, the maximum; new ones wait in the listen queue",
            self.name
        ));
    }

    /// Waits for every connection to close, and says what was served.
    async fn drained(self, drain_began: Instant) -> Served {
        self.wait_for_connections().await;
        let stats = &self.shared.stats;
        let served = Served {
            listener: self.name,
            connections: stats.connections.load(Ordering::Acquire),
            requests: stats.requests.load(Ordering::Acquire),
            in_flight_at_drain: stats.in_flight_at_drain.load(Ordering::Acquire),
            drained: stats.drained.load(Ordering::Acquire),
            drain_took: drain_began.elapsed(),
        };
        tracing::info!(
            listener = %served.listener,
            requests = served.requests,
            drained = served.drained,
            took = ?served.drain_took,
            "http: drained"
        );
        served
    }

    /// Serves one connection; `permit` counts it against the maximum (the
    /// connections swept from the queue at the drain are not counted).
    fn accept<S: Source>(&self, io: S::Io, addr: S::Addr, permit: Option<OwnedSemaphorePermit>) {
        self.shared
            .stats
            .connections
            .fetch_add(1, Ordering::Relaxed);
        S::prepare(&io);
        let peer = S::peer(&addr);
        self.connections
            .spawn(conn::serve(self.shared.clone(), io, addr, peer, permit));
    }

    async fn wait_for_connections(&self) {
        self.connections.close();
        self.connections.wait().await;
    }
}
