//! `#[graceful::task]`'s failure policies, run through the facade: an
//! isolated failure leaves the process running, a restarted task runs again
//! with fresh arguments until it succeeds or passes its intensity.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use graceful::{Context, Report, Runtime, TaskError};

fn run<F, Fut>(main: F) -> Report
where
    F: FnOnce(Context) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Runtime::new().signals([]).block_on(main)
}

#[graceful::task(policy = "isolated", name = "session")]
async fn session(_ctx: Context, peer: String) -> Result<(), String> {
    Err(format!("connection reset by {peer}"))
}

#[test]
fn an_isolated_failure_is_reported_and_the_process_goes_on() {
    let report = run(|ctx| async move {
        let failed = session(&ctx, "10.0.0.7".into()).await;
        assert_eq!(
            failed,
            Err(TaskError::Failed("connection reset by 10.0.0.7".into()))
        );
        assert_eq!(ctx.reason(), None, "an isolated failure starts no shutdown");
    });
    assert_eq!(report.exit_code(), 0);
    assert!(report.failures.is_empty());
    assert_eq!(report.isolated.len(), 1);
    assert_eq!(report.isolated[0].who.name, "session");
}

/// Counts its clones, and is counted as a run: the run number is the number
/// of clones before it.
#[derive(Debug)]
struct Runs(Arc<AtomicU32>);

impl Clone for Runs {
    fn clone(&self) -> Self {
        self.0.fetch_add(1, Ordering::SeqCst);
        Runs(self.0.clone())
    }
}

#[graceful::task(restart = "on_failure", backoff = "1ms..5ms")]
async fn flaky(
    _ctx: Context,
    runs: Runs,
    mut seen: Vec<u32>,
    lengths: Arc<std::sync::Mutex<Vec<usize>>>,
) -> Result<u32, String> {
    let run = runs.0.load(Ordering::SeqCst);
    lengths.lock().unwrap().push(seen.len());
    seen.push(run);
    if run < 3 {
        Err(format!("run {run} failed"))
    } else {
        Ok(run)
    }
}

#[test]
fn a_restarted_task_runs_again_with_its_arguments_as_given() {
    let clones = Arc::new(AtomicU32::new(0));
    let lengths = Arc::new(std::sync::Mutex::new(Vec::new()));
    let report = run({
        let (clones, lengths) = (clones.clone(), lengths.clone());
        move |ctx| async move {
            let handle = flaky(&ctx, Runs(clones), vec![], lengths);
            assert_eq!(handle.await, Ok(3), "the third run succeeds");
        }
    });
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(clones.load(Ordering::SeqCst), 3, "one clone per run");
    assert_eq!(
        *lengths.lock().unwrap(),
        [0, 0, 0],
        "each run starts from the arguments as passed"
    );
    assert_eq!(report.restarts.len(), 1);
    assert_eq!(report.restarts[0].who.name, "flaky");
    assert_eq!(report.restarts[0].restarts, 2);
    assert_eq!(report.restarts[0].gave_up, None);
}

#[graceful::task(restart = "on_failure", backoff = "1ms..2ms", intensity = "2 in 60s")]
async fn broken(_ctx: Context, runs: Arc<AtomicU32>, port: u16) -> Result<(), String> {
    let run = runs.fetch_add(1, Ordering::SeqCst);
    Err(format!("run {run}: broker unreachable on port {port}"))
}

#[test]
fn past_its_intensity_a_restarted_task_escalates_as_critical() {
    let runs = Arc::new(AtomicU32::new(0));
    let report = run({
        let runs = runs.clone();
        move |ctx| async move {
            let last = broken(&ctx, runs, 5672).await;
            assert_eq!(
                last,
                Err(TaskError::Failed(
                    "run 2: broker unreachable on port 5672".into()
                ))
            );
        }
    });
    assert_eq!(report.exit_code(), 1, "{report}");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "the first run and 2 restarts"
    );
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].who.name, "broken");
    // The failure line says where the task is defined, as for any task.
    let defined_at = report.failures[0].who.defined_at.as_deref();
    assert!(
        defined_at.is_some_and(|at| at.starts_with("tests/task_policy.rs:")),
        "{defined_at:?}"
    );
    assert_eq!(report.restarts[0].restarts, 2);
    let gave_up = report.restarts[0].gave_up.as_deref();
    assert!(
        gave_up.is_some_and(|why| why.contains("2 restarts")),
        "{gave_up:?}"
    );
}

struct Feed {
    runs: AtomicU32,
}

impl Feed {
    /// Returns twice, then waits for the shutdown: `"always"` restarts it
    /// after a success too, and never once shutdown began.
    #[graceful::task(restart = "always", backoff = "0s..0s", intensity = "5 in 1m")]
    async fn follow(self: Arc<Self>, ctx: Context) -> Result<(), String> {
        // `self` is each run's clone, also in a format string; a nested
        // item keeps its own `self`.
        struct Twice(u32);
        impl Twice {
            fn of(&self) -> u32 {
                self.0 * 2
            }
        }
        assert!(format!("{self:p}").starts_with("0x"));
        if self.runs.fetch_add(1, Ordering::SeqCst) == Twice(1).of() {
            ctx.shutdown();
            ctx.cancelled().await;
        }
        Ok(())
    }
}

#[test]
fn always_restarts_after_a_success_until_the_shutdown() {
    let feed = Arc::new(Feed {
        runs: AtomicU32::new(0),
    });
    let report = run({
        let feed = feed.clone();
        move |ctx| async move {
            assert_eq!(feed.follow(&ctx).await, Ok(()));
        }
    });
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(feed.runs.load(Ordering::SeqCst), 3);
    assert_eq!(report.restarts[0].restarts, 2);
    assert_eq!(report.restarts[0].last_failure, None, "it returned `Ok`");
}

#[graceful::task(restart = "on_failure", backoff = "1s..1s", intensity = "10 in 60s")]
async fn down_at_once(_ctx: Context, runs: Arc<AtomicU32>) -> Result<(), String> {
    runs.fetch_add(1, Ordering::SeqCst);
    Err("broker unreachable".into())
}

/// A shutdown that lands in the backoff after the third run counts the 2
/// restarts that ran, not the one that never did (issue 25 #1: the report
/// said 3).
#[graceful::test]
async fn a_restart_the_shutdown_cut_short_in_its_backoff_is_not_counted(
    ctx: Context,
    test: graceful::Test,
) {
    let runs = Arc::new(AtomicU32::new(0));
    let _task = down_at_once(&ctx, runs.clone());
    // Each backoff is 0.5 s to 1 s: within a millisecond of the third
    // run's failure, the task is in the backoff after it.
    while runs.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(runs.load(Ordering::SeqCst), 3, "no run after the shutdown");
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.restarts.len(), 1, "{report}");
    assert_eq!(report.restarts[0].restarts, 2, "{report}");
    assert!(report.to_string().contains("restarted 2 times"), "{report}");
}

#[graceful::task(policy = "essential")]
async fn consumer(ctx: Context, messages: u32) -> Result<u32, String> {
    // The broker closed the queue after a few messages: nothing to do.
    tokio::task::yield_now().await;
    let _ = ctx;
    Ok(messages)
}

#[test]
fn an_essential_task_that_returns_shuts_everything_down() {
    let report = run(|ctx| async move {
        let c = ctx.clone();
        let server = ctx.spawn("server", async move { c.cancelled().await });
        assert_eq!(consumer(&ctx, 3).await, Ok(3));
        server.await.unwrap(); // cancelled by the consumer's end
    });
    assert_eq!(
        report.reason,
        graceful::Reason::Ended {
            task: "consumer".into()
        }
    );
    assert_eq!(report.exit_code(), 0);
}
