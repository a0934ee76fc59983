//! What goes wrong below the requests (a failed accept, a connection that
//! ends in an error) is a `tracing` event. A program that installed no
//! subscriber would never hear of it, so then it also reaches stderr, at
//! most one line a second: the first problem at once, and the number of
//! those that were held back with the next one.
//!
//! The limit is a [`Throttle`] that each server owns: two servers of one
//! process do not hold back each other's lines, and nothing of it outlives
//! its server.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// At most one line on stderr per this period.
const EVERY: Duration = Duration::from_secs(1);

/// One server's limit of a line on stderr per [`EVERY`].
#[derive(Default)]
pub(super) struct Throttle {
    written: Mutex<Written>,
}

#[derive(Default)]
struct Written {
    /// When the last line was written.
    last: Option<Instant>,
    /// Lines held back since then.
    held_back: u64,
}

impl Throttle {
    /// Writes `line` on stderr, if no `tracing` subscriber is installed
    /// (the caller emitted the event too) and this throttle wrote no line
    /// within [`EVERY`].
    pub(super) fn stderr(&self, line: fmt::Arguments<'_>) {
        let listened =
            tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>());
        if listened {
            return;
        }
        if let Some(held_back) = self.admit(Instant::now()) {
            write(line, held_back);
        }
    }

    /// Whether a line may be written at `now`, and if so, how many were held
    /// back since the last one.
    fn admit(&self, now: Instant) -> Option<u64> {
        // A line is never left half-counted: a panic elsewhere while the
        // lock was held leaves nothing to repair.
        let mut w = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if w.last.is_some_and(|last| now.duration_since(last) < EVERY) {
            w.held_back += 1;
            return None;
        }
        w.last = Some(now);
        Some(std::mem::take(&mut w.held_back))
    }
}

/// The one place of `graceful::http` that writes to stderr.
#[allow(clippy::print_stderr)]
fn write(line: fmt::Arguments<'_>, held_back: u64) {
    if held_back == 0 {
        eprintln!("graceful: http: {line}");
    } else {
        eprintln!("graceful: http: {line} ({held_back} more since the last line, not shown)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_and_the_rest_counted() {
        let throttle = Throttle::default();
        let start = Instant::now();
        assert_eq!(throttle.admit(start), Some(0));
        assert_eq!(throttle.admit(start + EVERY / 2), None);
        assert_eq!(throttle.admit(start + EVERY * 9 / 10), None);
        assert_eq!(throttle.admit(start + EVERY), Some(2));
        assert_eq!(throttle.admit(start + EVERY * 3), Some(0));
    }

    #[test]
    fn each_server_has_its_own() {
        let (one, other) = (Throttle::default(), Throttle::default());
        let now = Instant::now();
        assert_eq!(one.admit(now), Some(0));
        assert_eq!(
            other.admit(now),
            Some(0),
            "held back by another server's line"
        );
        assert_eq!(one.admit(now), None);
    }
}
