//! The clock a task's age in the task dump is read from, chosen when a
//! runtime starts and kept in its hub. Every spawn reads it, so the
//! production one is the cheapest that is good enough for an age: on Linux
//! `CLOCK_MONOTONIC_COARSE` (no hardware clock read; its resolution is the
//! kernel's tick, a few milliseconds), where `Instant::now` measured
//! 100-190 ns on a virtual machine whose clock source falls back to a
//! system call. A test whose tokio clock is paused reads tokio's, so that
//! paused time shows in the ages; every other test runs the production one.

use std::time::Duration;

/// A monotonic clock, read as the time since an origin of its own.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Clock {
    /// The production clock.
    System(SystemOrigin),
    /// tokio's clock (paused in a test), from when the runtime started.
    /// Only tests have it: production has one clock.
    #[cfg(any(test, feature = "test-util"))]
    Tokio(tokio::time::Instant),
}

/// Linux has a coarse clock that needs no origin of ours.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct SystemOrigin;

/// Elsewhere, `Instant`, from when the runtime started.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct SystemOrigin(std::time::Instant);

impl Clock {
    /// The production clock.
    pub(crate) fn system() -> Clock {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return Clock::System(SystemOrigin);
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        return Clock::System(SystemOrigin(std::time::Instant::now()));
    }

    /// tokio's clock, which a test may pause; call it inside the runtime.
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn tokio() -> Clock {
        Clock::Tokio(tokio::time::Instant::now())
    }

    /// The time since the clock's origin.
    #[inline]
    pub(crate) fn now(self) -> Duration {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Clock::System(SystemOrigin) => {
                use nix::time::{ClockId, clock_gettime};
                clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE)
                    .map_or(Duration::ZERO, Duration::from)
            }
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            Clock::System(SystemOrigin(origin)) => origin.elapsed(),
            #[cfg(any(test, feature = "test-util"))]
            Clock::Tokio(origin) => origin.elapsed(),
        }
    }

    /// How long ago `since` (a [`now`](Self::now)) was.
    pub(crate) fn age(self, since: Duration) -> Duration {
        self.now().saturating_sub(since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_production_clock_moves_on_its_own() {
        let clock = Clock::system();
        let before = clock.now();
        std::thread::sleep(Duration::from_millis(30));
        // The coarse clock's tick is a few milliseconds.
        assert!(clock.age(before) >= Duration::from_millis(20));
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_s_clock_moves_with_paused_time() {
        let clock = Clock::tokio();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.now(), Duration::from_secs(3600));
    }
}
