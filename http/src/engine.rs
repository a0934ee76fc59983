//! The engine behind [`Server`](super::Server): the three phases of a run.
//! Accept until cancelled; sweep the kernel's queue and close the
//! listener; wait for the connections and say what was served.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::Served;
use super::conn_task;
use super::server_state::ServerState;
use super::settings::Settings;
use super::source::{self, Source};
use gracefully_runtime::Context;

/// The pause after a failed accept (out of file descriptors or memory); it
/// doubles with every failure in a row, up to [`ACCEPT_RETRY_MAX`].
const ACCEPT_RETRY_FIRST: Duration = Duration::from_millis(10);

/// The longest pause between two failed accepts.
const ACCEPT_RETRY_MAX: Duration = Duration::from_millis(320);

/// Serves `source` until `ctx` is cancelled, then drains.
pub(super) async fn run<S: Source>(
    ctx: Context,
    router: Router,
    settings: Settings,
    mut source: S,
) -> io::Result<Served> {
    let name = source.name();
    tracing::info!(listener = %name, scope = %ctx.path(), "http: serving");
    // Handed to the next binary of an upgrade while it is served.
    source.offer(&ctx)?;
    let runtime = ctx.clone();
    let accepting = Accepting {
        server: Arc::new(ServerState::new(ctx, router, settings)),
        connections: TaskTracker::new(),
        name,
    };

    if let Err(e) = accepting.accept_until_cancelled(&mut source).await {
        source.withdraw(&runtime);
        tracing::error!(listener = %accepting.name, error = %e, "http: listener unusable");
        accepting
            .server
            .log
            .stderr(format_args!("{}: listener unusable: {e}", accepting.name));
        // Let the connections we have finish before failing.
        accepting.server.start_drain();
        accepting.wait_for_connections().await;
        return Err(e);
    }

    // The drain: from here on, every completed request counts as drained.
    let drain_began = Instant::now();
    accepting.server.start_drain();
    source.withdraw(&runtime); // no longer handed to the next binary
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
    server: Arc<ServerState>,
    connections: TaskTracker,
    name: String,
}

impl Accepting {
    /// Accepts connections until the scope is cancelled, at most
    /// `max_connections` at a time: past that, the next connections wait in
    /// the kernel's queue. Accept errors are retried; `Err` only if the
    /// listener itself is unusable.
    async fn accept_until_cancelled<S: Source>(&self, source: &mut S) -> io::Result<()> {
        let ctx = &self.server.ctx;
        let open = Arc::new(Semaphore::new(self.server.settings.max_connections));
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
                Err(e) if source::is_connection_error(&e) => {}
                Err(e) if source::is_fatal(&e) => return Err(e),
                Err(e) => {
                    // Out of file descriptors or memory: back off, keep serving.
                    tracing::warn!(listener = %self.name, error = %e, ?pause, "http: accept failed, retrying");
                    self.server.log.stderr(format_args!(
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
        let max = self.server.settings.max_connections;
        tracing::warn!(listener = %self.name, max, "http: at the maximum of open connections; new ones wait in the listen queue");
        self.server.log.stderr(format_args!(
            "{}: {max} connections open, the maximum; new ones wait in the listen queue",
            self.name
        ));
    }

    /// Waits for every connection to close, and says what was served.
    async fn drained(self, drain_began: Instant) -> Served {
        self.wait_for_connections().await;
        let stats = &self.server.stats;
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
        self.server
            .stats
            .connections
            .fetch_add(1, Ordering::Relaxed);
        S::prepare(&io);
        let peer = S::peer(&addr);
        self.connections.spawn(conn_task::serve(
            self.server.clone(),
            io,
            addr,
            peer,
            permit,
        ));
    }

    async fn wait_for_connections(&self) {
        self.connections.close();
        self.connections.wait().await;
        // No stream starts once its connection ended.
        self.server.streams.close();
        self.server.streams.wait().await;
    }
}
