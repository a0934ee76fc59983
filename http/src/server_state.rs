//! [`ServerState`]: what the accept loop and every connection of one
//! server share, from the server's start to the close of its last
//! connection.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::Router;
use axum::http::Extensions;
use hyper_util::rt::TokioTimer;
use hyper_util::server::conn::auto;
use tokio_util::task::TaskTracker;

use super::in_flight::Roster;
use super::log::Throttle;
use super::request_context;
use super::settings::Settings;
use gracefully_runtime::{Context, State};

/// What the accept loop and every connection of one server share.
pub(super) struct ServerState {
    /// The server's scope: cancelled when the drain begins, and the context
    /// of every request.
    pub(super) ctx: Context,
    pub(super) router: Router,
    pub(super) settings: Settings,
    /// hyper's connection builder, configured once.
    pub(super) hyper: auto::Builder<Streams>,
    /// The tasks of the HTTP/2 streams, which hyper spawns: the server ends
    /// once they have, as once its connections have.
    pub(super) streams: TaskTracker,
    /// Set by the accept loop when the drain begins.
    draining: AtomicBool,
    pub(super) stats: Stats,
    pub(super) in_flight: Arc<Roster>,
    /// What every request's extensions start as: its
    /// [`RequestContext`](super::RequestContext).
    pub(super) extensions: Extensions,
    /// Its lines on stderr, at most one a second.
    pub(super) log: Throttle,
}

impl ServerState {
    /// The state of a server of `router` in the scope `ctx`, whose requests
    /// in flight are listed in the scope's reports.
    pub(super) fn new(ctx: Context, router: Router, settings: Settings) -> ServerState {
        // The header read timeout is the connections' own (see `watchdog`).
        let streams = TaskTracker::new();
        let mut hyper = auto::Builder::new(Streams(streams.clone()));
        hyper.http1().header_read_timeout(None);
        let mut http2 = hyper.http2();
        http2.enable_connect_protocol();
        if let Some((interval, timeout)) = settings.http2_keep_alive {
            http2
                .timer(TokioTimer::new())
                .keep_alive_interval(interval)
                .keep_alive_timeout(timeout);
        }
        let in_flight = Arc::new(Roster::new(settings.list_requests));
        ctx.describe({
            let in_flight = in_flight.clone();
            move || in_flight.describe()
        });
        ServerState {
            extensions: request_context::first_extensions(&ctx),
            ctx,
            // Its handlers made into routes once, as `axum::serve` has them
            // (`into_make_service`); otherwise every request would box its
            // handler again.
            router: router.with_state(()),
            settings,
            hyper,
            streams,
            draining: AtomicBool::new(false),
            stats: Stats::default(),
            in_flight,
            log: Throttle::default(),
        }
    }

    /// Says that the drain began (the accept loop's call).
    pub(super) fn start_drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether clients are told to leave (HTTP/1: `Connection: close`):
    /// from the moment the shutdown is requested (the lame duck included),
    /// or once this server drains (its scope may drain on its own).
    pub(super) fn leaving(&self) -> bool {
        self.ctx.state().is_shutting_down() || self.is_draining()
    }

    /// Whether the drain began: set by the accept loop, but a handler woken
    /// by the same cancellation may answer first, so also ask the scope
    /// (only while the process drains, to keep a lock off the hot path).
    pub(super) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
            || (self.ctx.is_cancelled() && self.ctx.state() == State::Draining)
    }
}

/// Runs the HTTP/2 streams hyper spawns as tasks of the server's
/// `streams`: a stream's response body, and with it its request in flight
/// (counted when it ends), may outlive its connection's task, and what the
/// server reports is read once every stream has ended.
#[derive(Clone)]
pub(super) struct Streams(TaskTracker);

impl<F> hyper::rt::Executor<F> for Streams
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, stream: F) {
        self.0.spawn(stream);
    }
}

/// What a server counts, added up into [`Served`](super::Served). Requests
/// are counted by their connection (no cache line shared between
/// connections is written per request) and added here when the connection
/// ends.
#[derive(Default)]
pub(super) struct Stats {
    pub(super) connections: AtomicU64,
    pub(super) requests: AtomicU64,
    pub(super) in_flight_at_drain: AtomicU64,
    pub(super) drained: AtomicU64,
}
