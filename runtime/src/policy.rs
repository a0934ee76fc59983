//! Failure policies: what a task's failure does to the process. A
//! *critical* task's failure starts the shutdown (errgroup); an *isolated*
//! task's failure is reported and counted; a *restarted* task is started
//! again after a backoff, within a restart intensity, and escalates as
//! critical past it.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// What a task's failure (an `Err` output or a panic) does.
///
/// | policy | on failure | default for |
/// |---|---|---|
/// | [`Critical`](Policy::Critical) | reported; starts the shutdown of the whole process; exit code 1 | tasks started by `main`, by `#[graceful::task]` and by [`Context::spawn`](crate::Context::spawn) |
/// | [`Isolated`](Policy::Isolated) | reported (a `tracing` event and a count in the final report); the process goes on | tasks spawned from a request's context (`graceful::http::RequestContext`) |
/// | [`Essential`](Policy::Essential) | as `Critical`; and its end, even `Ok`, starts the shutdown too ([`Reason::Ended`](crate::Reason::Ended), exit code 0) | none: a consumer or a listener the service is nothing without |
///
/// Whatever the policy, a task is cancelled and awaited by the drain. To
/// start a task again when it fails, see [`Context::spawn_restarting`](crate::Context::spawn_restarting).
///
/// ```
/// use graceful::{Policy, Runtime};
/// let report = Runtime::new().signals([]).block_on(|ctx| async move {
///     ctx.spawn_with(Policy::Isolated, "one client", async { Err::<(), _>("connection reset") });
///     tokio::task::yield_now().await;
///     ctx.shutdown();
/// });
/// assert_eq!(report.exit_code(), 0); // the failure did not stop the process
/// assert_eq!(report.isolated_failures, 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Policy {
    /// A failure starts the shutdown of the whole process (errgroup).
    #[default]
    Critical,
    /// A failure is reported and counted, and the process goes on.
    Isolated,
    /// The process is nothing without this task: its failure is critical,
    /// and its end, even `Ok`, starts the shutdown too (async-shutdown's
    /// `wrap_trigger_shutdown`, oklog/run's actors). A queue consumer that
    /// returns quietly would otherwise leave a process that is live and
    /// ready and does nothing. An end after the shutdown began changes
    /// nothing.
    ///
    /// ```
    /// use graceful::{Policy, Reason, Runtime};
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     ctx.spawn_with(Policy::Essential, "consumer", async {
    ///         // .. until the broker closed the queue ..
    ///     });
    ///     let c = ctx.clone();
    ///     ctx.spawn("http", async move { c.cancelled().await }); // stopped by it
    /// });
    /// assert_eq!(report.reason, Reason::Ended { task: "consumer".into() });
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    Essential,
}

impl Policy {
    /// The policy stored as `policy as u8` (a load from a table, on every
    /// spawn that takes the scope's default).
    #[inline]
    pub(crate) fn from_u8(v: u8) -> Policy {
        const ALL: [Policy; 3] = [Policy::Critical, Policy::Isolated, Policy::Essential];
        const _: () = assert!(Policy::Isolated as u8 == 1 && Policy::Essential as u8 == 2);
        ALL.get(usize::from(v)).copied().unwrap_or_default()
    }
}

/// How a task started with [`Context::spawn_restarting`](crate::Context::spawn_restarting) is started again:
/// after an exponential backoff with jitter, at most `restarts` times within
/// a sliding `window` (an Erlang/OTP supervisor's restart intensity). Past
/// the limit, the failure escalates as critical: the process shuts down
/// with exit code 1 and the report says why. Once shutdown has begun, a task
/// is not restarted any more.
///
/// The defaults: restart on failure only, backoff from 100 ms doubling to
/// 30 s, at most 5 restarts within 60 s.
///
/// ```
/// use graceful::Restart;
/// use std::time::Duration;
///
/// let restart = Restart::new()
///     .backoff(Duration::from_millis(50), Duration::from_secs(5))
///     .intensity(10, Duration::from_secs(60));
/// assert_eq!(restart.max_restarts(), 10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Restart {
    min: Duration,
    max: Duration,
    pub(crate) restarts: u32,
    pub(crate) window: Duration,
    pub(crate) on_success: bool,
}

impl Default for Restart {
    fn default() -> Self {
        Restart::new()
    }
}

impl Restart {
    /// Restart on failure, backoff `100ms..30s`, at most 5 restarts in 60 s.
    ///
    /// ```
    /// use graceful::Restart;
    /// assert_eq!(Restart::new().max_restarts(), 5); // in any 60 s
    /// ```
    pub const fn new() -> Restart {
        Restart {
            min: Duration::from_millis(100),
            max: Duration::from_secs(30),
            restarts: 5,
            window: Duration::from_secs(60),
            on_success: false,
        }
    }

    /// The first delay before a restart, doubled at each consecutive
    /// restart up to `max`; each delay is drawn between half of it and all
    /// of it (jitter), so that many tasks failing together do not restart
    /// in lockstep. `max` below `min` is raised to `min`.
    ///
    /// ```
    /// use graceful::Restart;
    /// use std::time::Duration;
    /// // 50 ms, 100 ms, 200 ms .. up to 5 s, each with jitter.
    /// let restart = Restart::new().backoff(Duration::from_millis(50), Duration::from_secs(5));
    /// ```
    pub const fn backoff(mut self, min: Duration, max: Duration) -> Restart {
        self.min = min;
        self.max = if max.as_nanos() < min.as_nanos() {
            min
        } else {
            max
        };
        self
    }

    /// At most `restarts` restarts within any `window`; one more failure
    /// escalates as critical. `0` never restarts (the first failure
    /// escalates).
    ///
    /// ```
    /// use graceful::Restart;
    /// use std::time::Duration;
    /// let restart = Restart::new().intensity(10, Duration::from_secs(60));
    /// assert_eq!(restart.max_restarts(), 10);
    /// ```
    ///
    /// # Panics
    ///
    /// If `restarts` is not 0 and `window` is zero: no restart would ever
    /// count within it, so the task would be restarted forever and never
    /// escalate (`#[graceful::task(intensity = "5 in 0s")]` is a compile
    /// error for the same reason).
    pub const fn intensity(mut self, restarts: u32, window: Duration) -> Restart {
        assert!(
            restarts == 0 || !window.is_zero(),
            "Restart::intensity: a window of zero counts no restart, so the task would restart forever; give a window such as 60s"
        );
        self.restarts = restarts;
        self.window = window;
        self
    }

    /// Also restart when the task returns successfully (a task that should
    /// run for as long as the process does), not only when it fails.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// use graceful::Restart;
    /// // A poller that runs one round and returns: started again, as long as the process runs.
    /// ctx.spawn_restarting("poller", Restart::new().on_any_return(), |ctx| async move {
    ///     ctx.run_until_cancelled(tokio::time::sleep(std::time::Duration::from_millis(10))).await;
    /// });
    /// ctx.shutdown();
    /// # });
    /// ```
    pub const fn on_any_return(mut self) -> Restart {
        self.on_success = true;
        self
    }

    /// The most restarts allowed within the window.
    ///
    /// ```
    /// use graceful::Restart;
    /// use std::time::Duration;
    /// assert_eq!(Restart::new().intensity(0, Duration::from_secs(60)).max_restarts(), 0); // never restarts
    /// ```
    pub const fn max_restarts(&self) -> u32 {
        self.restarts
    }

    /// The delay before restart number `n` (0-based): `min * 2^n`, capped
    /// at `max`, then drawn in its upper half.
    pub(crate) fn delay(&self, n: u32, random: u64) -> Duration {
        let full = self
            .min
            .checked_mul(1 << n.min(31))
            .map_or(self.max, |d| d.min(self.max));
        let half = full / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(random % nanos.saturating_add(1))
    }
}

/// A random number from the standard library's per-process hash keys:
/// enough for jitter, without a dependency.
pub(crate) fn random() -> u64 {
    RandomState::new().hash_one(std::time::Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let r = Restart::new().backoff(Duration::from_millis(100), Duration::from_secs(1));
        for (n, full) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1000),
            (40, 1000),
        ] {
            let full = Duration::from_millis(full);
            assert_eq!(r.delay(n, 0), full / 2, "n = {n}");
            assert_eq!(
                r.delay(n, u64::MAX - 1).max(full / 2),
                r.delay(n, u64::MAX - 1)
            );
            for seed in 0..100 {
                let d = r.delay(n, random().wrapping_add(seed));
                assert!(d >= full / 2 && d <= full, "{d:?} for n = {n}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "a window of zero counts no restart")]
    fn a_zero_window_is_refused() {
        let _ = Restart::new().intensity(5, Duration::ZERO);
    }

    #[test]
    fn a_max_below_the_min_is_raised() {
        let r = Restart::new().backoff(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(r.delay(3, 0), Duration::from_secs(1));
    }
}
