//! The clock a task's age in the task dump is read from. Every spawn reads
//! it, so it is the cheapest one that is good enough for an age: on Linux
//! `CLOCK_MONOTONIC_COARSE` (no hardware clock read; its resolution is the
//! kernel's tick, a few milliseconds), where `Instant::now` measured
//! 100-190 ns on a virtual machine whose clock source falls back to a
//! system call. With `test-util`, tokio's clock, so that paused time
//! shows in the ages.

use std::time::Duration;

/// A monotonic time, from an arbitrary origin.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(feature = "test-util")
))]
pub(crate) fn now() -> Duration {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE).map_or(Duration::ZERO, Duration::from)
}

/// A monotonic time, from the first call.
#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    not(feature = "test-util")
)))]
pub(crate) fn now() -> Duration {
    use std::sync::OnceLock;
    use tokio::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let now = Instant::now();
    now.saturating_duration_since(*ORIGIN.get_or_init(|| now))
}

/// How long ago `since` was.
pub(crate) fn age(since: Duration) -> Duration {
    now().saturating_sub(since)
}
