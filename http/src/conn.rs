//! [`Conn`]: one connection's state, which its task, its hyper service,
//! its requests, their bodies and its IO share: what it read and wrote,
//! its requests in flight, and the marks its watchdog reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::in_flight::Registered;
use super::server_state::ServerState;

/// One connection's state, shared by its task, its service, its requests
/// and its reads.
pub(super) struct Conn {
    /// The state of the server that accepted it.
    pub(super) server: Arc<ServerState>,
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
    /// The state of a new connection of `server` from `peer`.
    pub(super) fn new(server: Arc<ServerState>, peer: String) -> Conn {
        Conn {
            registered: server.in_flight.register(peer),
            server,
            requests: AtomicU64::new(0),
            read: AtomicU64::new(0),
            written: AtomicU64::new(0),
            write_waits: AtomicBool::new(false),
            read_when_idle: AtomicU64::new(0),
            http2: AtomicBool::new(false),
            ticks: AtomicU64::new(0),
            head_began: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
        }
    }

    /// The peer, for reports and logs.
    pub(super) fn peer(&self) -> &str {
        self.registered.peer()
    }

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

    /// Request `id`, as a report names it (while it is in flight).
    pub(super) fn request_name(&self, id: u64) -> String {
        self.registered.slot.name(id)
    }

    /// Whether a request came over HTTP/2: the connection is one.
    pub(super) fn is_http2(&self) -> bool {
        self.http2.load(Ordering::Relaxed)
    }

    pub(super) fn in_flight(&self) -> usize {
        self.registered.slot.len()
    }

    /// Whether nothing came or went for at least `grace`, as the watchdog,
    /// looking every `period`, saw it: nothing in flight, no head on its
    /// way, and two looks or more since the connection became idle (at least
    /// a period between the first and the last of them).
    pub(super) fn quiet_for(&self, grace: Duration, period: Option<Duration>) -> bool {
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
