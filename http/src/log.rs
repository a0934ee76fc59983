//! What goes wrong below the requests (a failed accept, a connection that
//! ends in an error) is a `tracing` event. A program that installed no
//! subscriber would never hear of it, so then it also reaches stderr, at
//! most one line a second: the first problem at once, and the number of
//! those that were held back with the next one.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// At most one line on stderr per this period.
const EVERY: Duration = Duration::from_secs(1);

struct Throttle {
    last: Option<Instant>,
    held_back: u64,
}

static THROTTLE: Mutex<Throttle> = Mutex::new(Throttle {
    last: None,
    held_back: 0,
});

/// Writes `line` on stderr, if no `tracing` subscriber is installed (the
/// caller emitted the event too) and no line was written within [`EVERY`].
pub(super) fn stderr(line: fmt::Arguments<'_>) {
    let listened =
        tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>());
    if listened {
        return;
    }
    let now = Instant::now();
    let held_back = {
        let mut t = THROTTLE.lock().unwrap_or_else(PoisonError::into_inner);
        if t.last.is_some_and(|last| now.duration_since(last) < EVERY) {
            t.held_back += 1;
            return;
        }
        t.last = Some(now);
        std::mem::take(&mut t.held_back)
    };
    write(line, held_back);
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
