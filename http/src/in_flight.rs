//! The requests in flight, for the report of a deadline and the task dump:
//! each connection keeps its own requests in a slot of its own (a request
//! takes only its connection's lock, which nothing else contends for but
//! the report), and the server keeps the list of slots (a connection takes
//! that lock once when it opens and once when it closes).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::uri::PathAndQuery;
use axum::http::{Method, Uri};
use slab::Slab;

/// At most this many requests are listed by name; the rest are counted.
pub(super) const LISTED: usize = 20;

/// Every connection's slot, while the connection is open.
pub(super) struct Roster {
    slots: Mutex<Slab<Arc<Slot>>>,
    /// Whether requests are listed, or only counted.
    listed: bool,
}

impl Roster {
    /// A roster whose requests are listed by name, or (`listed` false)
    /// only counted.
    pub(super) fn new(listed: bool) -> Roster {
        Roster {
            slots: Mutex::default(),
            listed,
        }
    }

    /// A slot for a new connection from `peer`; it leaves the roster when
    /// the [`Registered`] handle is dropped.
    pub(super) fn register(self: &Arc<Self>, peer: String) -> Registered {
        let requests = if self.listed {
            Requests::Listed(Mutex::new(Vec::new()))
        } else {
            Requests::Counted(AtomicUsize::new(0))
        };
        let slot = Arc::new(Slot { peer, requests });
        let key = lock(&self.slots).insert(slot.clone());
        Registered {
            roster: self.clone(),
            key,
            slot,
        }
    }

    /// The lines of the report: the oldest requests first, at most
    /// [`LISTED`] of them, then how many more there are.
    pub(super) fn describe(&self) -> Vec<String> {
        let slots: Vec<Arc<Slot>> = lock(&self.slots).iter().map(|(_, s)| s.clone()).collect();
        let now = Instant::now();
        let mut all: Vec<(Duration, String)> = Vec::new();
        let mut unlisted = 0;
        for slot in &slots {
            match &slot.requests {
                Requests::Listed(requests) => {
                    for r in lock(requests).iter() {
                        let path = r.path.as_ref().map_or("/", PathAndQuery::path);
                        let request = format!("`{} {path}` from {}", r.method, slot.peer);
                        all.push((now.saturating_duration_since(r.since), request));
                    }
                }
                Requests::Counted(count) => unlisted += count.load(Ordering::Relaxed),
            }
        }
        if unlisted > 0 {
            return vec![format!(
                "{unlisted} requests in flight (not listed: `Server::list_requests(false)`)"
            )];
        }
        all.sort_by_key(|(age, _)| std::cmp::Reverse(*age));
        let more = all.len().saturating_sub(LISTED);
        let mut lines: Vec<String> = all
            .into_iter()
            .take(LISTED)
            .map(|(age, request)| format!("{request}, in flight for {:.2}s", age.as_secs_f64()))
            .collect();
        if more > 0 {
            lines.push(format!("and {more} more requests in flight"));
        }
        lines
    }
}

/// One connection's place in the [`Roster`].
pub(super) struct Registered {
    roster: Arc<Roster>,
    key: usize,
    pub(super) slot: Arc<Slot>,
}

impl Registered {
    /// The connection's peer.
    pub(super) fn peer(&self) -> &str {
        &self.slot.peer
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.roster.slots).try_remove(self.key);
    }
}

/// One connection's requests in flight: at most one at a time on HTTP/1,
/// as many as the client opened streams on HTTP/2.
pub(super) struct Slot {
    peer: String,
    requests: Requests,
}

/// A connection's requests in flight, listed or only counted.
enum Requests {
    Listed(Mutex<Vec<Request>>),
    Counted(AtomicUsize),
}

struct Request {
    id: u64,
    method: Method,
    /// Only the path is listed (not the scheme and host of an absolute-form
    /// request, nor the query string).
    path: Option<PathAndQuery>,
    since: Instant,
}

impl Slot {
    /// Records a request that began; `id` is unique on this connection.
    pub(super) fn begin(&self, id: u64, method: &Method, uri: &Uri) {
        match &self.requests {
            Requests::Listed(requests) => {
                let request = Request {
                    id,
                    method: method.clone(),
                    path: uri.path_and_query().cloned(),
                    since: Instant::now(),
                };
                lock(requests).push(request);
            }
            Requests::Counted(count) => {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Forgets request `id`, and says how many are still in flight.
    pub(super) fn end(&self, id: u64) -> usize {
        match &self.requests {
            Requests::Listed(requests) => {
                let mut requests = lock(requests);
                if let Some(i) = requests.iter().position(|r| r.id == id) {
                    requests.swap_remove(i);
                }
                requests.len()
            }
            Requests::Counted(count) => count.fetch_sub(1, Ordering::Relaxed) - 1,
        }
    }

    /// Request `id` as a report names it, `GET /path from PEER` (the path
    /// without the query); with requests only counted, `from PEER`.
    pub(super) fn name(&self, id: u64) -> String {
        if let Requests::Listed(requests) = &self.requests
            && let Some(r) = lock(requests).iter().find(|r| r.id == id)
        {
            let path = r.path.as_ref().map_or("/", PathAndQuery::path);
            return format!("{} {path} from {}", r.method, self.peer);
        }
        format!("from {}", self.peer)
    }

    /// How many requests are in flight on this connection.
    pub(super) fn len(&self) -> usize {
        match &self.requests {
            Requests::Listed(requests) => lock(requests).len(),
            Requests::Counted(count) => count.load(Ordering::Relaxed),
        }
    }
}

/// A report is made even if a thread panicked while holding a lock: the
/// data behind these locks is a list that is never left half-updated.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_oldest_requests_and_counts_the_rest() {
        let roster = Arc::new(Roster::new(true));
        let conns: Vec<_> = (0..30)
            .map(|i| roster.register(format!("10.0.0.{i}:4000")))
            .collect();
        for (i, conn) in conns.iter().enumerate() {
            let uri: Uri = format!("/item/{i}?secret=1").parse().unwrap();
            conn.slot.begin(0, &Method::GET, &uri);
        }
        conns[3].slot.end(0);
        let lines = roster.describe();
        assert_eq!(lines.len(), LISTED + 1);
        // The oldest first: the first connection's request began first.
        assert!(
            lines[0].starts_with("`GET /item/0` from 10.0.0.0:4000, in flight for "),
            "{lines:?}"
        );
        assert!(lines.iter().all(|l| !l.contains("secret")));
        assert!(lines.iter().all(|l| !l.contains("/item/3`")));
        assert_eq!(lines[LISTED], "and 9 more requests in flight");
        assert_eq!(conns[7].slot.name(0), "GET /item/7 from 10.0.0.7:4000");
        assert_eq!(conns[3].slot.name(0), "from 10.0.0.3:4000");

        drop(conns);
        assert!(roster.describe().is_empty());
    }

    #[test]
    fn unlisted_requests_are_counted() {
        let roster = Arc::new(Roster::new(false));
        let conns: Vec<_> = (0..3)
            .map(|i| roster.register(format!("10.0.0.{i}:4000")))
            .collect();
        let uri: Uri = "/private/alice@example.com".parse().unwrap();
        for conn in &conns {
            conn.slot.begin(0, &Method::POST, &uri);
            conn.slot.begin(1, &Method::POST, &uri);
        }
        assert_eq!(conns[0].slot.name(1), "from 10.0.0.0:4000");
        assert_eq!(conns[0].slot.end(0), 1);
        assert_eq!(conns[0].slot.len(), 1);
        assert_eq!(
            roster.describe(),
            ["5 requests in flight (not listed: `Server::list_requests(false)`)"]
        );
        for conn in &conns {
            conn.slot.end(1);
        }
        conns[1].slot.end(0);
        conns[2].slot.end(0);
        assert!(roster.describe().is_empty());
    }
}
