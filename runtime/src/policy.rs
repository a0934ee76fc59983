//! Failure policies: what a task's failure does to the process. A
//! *critical* task's failure starts the shutdown (errgroup); an *isolated*
//! task's failure is reported and counted; a *restarted* task is started
//! again after a backoff, within a restart intensity, and escalates as
//! critical past it.

use std::collections::VecDeque;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::time::Instant;

use crate::context::Context;
use crate::failure::{FailureKind, Restarted};
use crate::lifecycle::{Shared, State};
use crate::report::{Count, Secs};
use crate::task::{Panic, TaskOutput};
use crate::tracked::Origin;

/// What a task's failure (an `Err` output or a panic) does.
///
/// | policy | on failure | default for |
/// |---|---|---|
/// | [`Critical`](Policy::Critical) | reported; starts the shutdown of the whole process; exit code 1 | tasks started by `main`, by `#[graceful::task]` and by [`Context::spawn`] |
/// | [`Isolated`](Policy::Isolated) | reported (a `tracing` event and a count in the final report); the process goes on | tasks spawned from a request's context (`graceful::http::RequestContext`) |
///
/// Whatever the policy, a task is cancelled and awaited by the drain. To
/// start a task again when it fails, see [`Context::spawn_restarting`].
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
}

impl Policy {
    pub(crate) fn from_u8(v: u8) -> Policy {
        if v == Policy::Isolated as u8 {
            Policy::Isolated
        } else {
            Policy::Critical
        }
    }
}

/// How a task started with [`Context::spawn_restarting`] is started again:
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
    restarts: u32,
    window: Duration,
    on_success: bool,
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
    fn delay(&self, n: u32, random: u64) -> Duration {
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
fn random() -> u64 {
    RandomState::new().hash_one(Instant::now())
}

/// Where a restarted task reports what happens to it: tracing events, its
/// record in the final report, and the escalation.
pub(crate) struct RestartLog {
    pub(crate) origin: Origin,
    pub(crate) scope: String,
    pub(crate) shared: Arc<Shared>,
    /// Its record among the lifecycle's restarts, once it has one.
    index: Option<usize>,
}

impl RestartLog {
    pub(crate) fn new(origin: Origin, scope: String, shared: Arc<Shared>) -> RestartLog {
        RestartLog {
            origin,
            scope,
            shared,
            index: None,
        }
    }

    fn record(
        &mut self,
        restarts: u32,
        last_failure: Option<FailureKind>,
        gave_up: Option<String>,
    ) {
        let record = Restarted {
            task: self.origin.name.to_string(),
            scope: self.scope.clone(),
            spawned_at: self.origin.spawned_at.to_string(),
            restarts,
            last_failure,
            gave_up,
        };
        self.index = Some(self.shared.restarted(self.index, record));
    }

    /// It failed (or returned) and starts again after `delay`.
    fn restarting(&mut self, restarts: u32, failure: Option<FailureKind>, delay: Duration) {
        let why = failure
            .as_ref()
            .map_or_else(|| "returned".to_owned(), ToString::to_string);
        tracing::warn!(
            task = %self.origin.name,
            scope = %self.scope,
            restarts,
            ?delay,
            error = %why,
            "restarting task"
        );
        self.record(restarts, failure, None);
    }

    /// It failed past its restart intensity, or while the process shuts
    /// down: the failure escalates as critical.
    fn escalate(&mut self, restarts: u32, failure: FailureKind, why: String) {
        if restarts > 0 {
            self.record(restarts, Some(failure.clone()), Some(why));
        }
        self.shared
            .fail(self.origin.failure(&self.scope, false, failure));
    }
}

/// Runs `factory`'s futures one after the other as `restart` says, until
/// one ends without needing a restart (its output is the task's output) or
/// the failure escalates (the last output, or the last panic).
pub(crate) async fn restarting<F, Fut>(
    ctx: Context,
    restart: Restart,
    mut factory: F,
    mut log: RestartLog,
) -> Result<Fut::Output, Panic>
where
    F: FnMut(Context) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: TaskOutput,
{
    let mut recent: VecDeque<Instant> = VecDeque::new();
    let mut consecutive = 0u32;
    let mut restarts = 0u32;
    loop {
        let started = Instant::now();
        let attempt = AssertUnwindSafe(factory(ctx.clone())).catch_unwind().await;
        let (output, failure) = match attempt {
            Ok(output) => {
                let failure = output.failure().map(FailureKind::Error);
                (Ok(output), failure)
            }
            Err(payload) => {
                let panic = Panic::from_payload(payload);
                (Err(panic.clone()), Some(FailureKind::Panic(panic)))
            }
        };
        if failure.is_none() && !restart.on_success {
            return output;
        }
        if ctx.state() != State::Running || ctx.is_cancelled() {
            // No restart once shutdown began: a success ends the task, a
            // failure is a failure.
            if let Some(failure) = failure {
                log.escalate(restarts, failure, "failed during the shutdown".into());
            }
            return output;
        }
        // A run that outlasted the window starts the backoff over.
        if started.elapsed() >= restart.window {
            consecutive = 0;
        }
        let now = Instant::now();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= restart.window)
        {
            recent.pop_front();
        }
        if recent.len() >= restart.restarts as usize {
            let failure = failure.unwrap_or_else(|| FailureKind::Error("returned".into()));
            let why = format!(
                "gave up: {} within {}, the limit",
                Count(recent.len(), "restart"),
                Secs(restart.window)
            );
            log.escalate(restarts, failure, why);
            return output;
        }
        let delay = restart.delay(consecutive, random());
        consecutive = consecutive.saturating_add(1);
        restarts += 1;
        recent.push_back(now);
        log.restarting(restarts, failure, delay);
        if ctx
            .run_until_cancelled(tokio::time::sleep(delay))
            .await
            .is_none()
        {
            return output;
        }
    }
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
