//! Failure policies through the builder, under paused time: restarts with
//! backoff and their intensity limit, and a partial drain past its budget.
//! (Isolated failures, a scope's default policy, the partial shutdown and
//! the drain budget are tested with `#[graceful::test]` in the facade's
//! `tests/policies.rs`.)

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gracefully_runtime::report::FailureKind;
use gracefully_runtime::{Context, Reason, Restart, Runtime};
use tokio::time::Instant;

fn quiet() -> Runtime {
    Runtime::new().signals([])
}

/// Starts a task that fails `fails` times then returns `Ok`, restarted with
/// a backoff of 100 ms doubling to 1 s; returns when each run started.
async fn restarted_runs(ctx: &Context, fails: u32, restart: Restart) -> Vec<Instant> {
    let starts = Arc::new(Mutex::new(Vec::new()));
    let s = starts.clone();
    let handle = ctx.spawn_restarting("flaky", restart, move |_ctx| {
        let mut starts = s.lock().unwrap();
        starts.push(Instant::now());
        let run = starts.len() as u32;
        async move {
            if run <= fails {
                Err(format!("run {run} failed"))
            } else {
                Ok(run)
            }
        }
    });
    let _ = handle.await;
    starts.lock().unwrap().clone()
}

const BACKOFF: Restart = Restart::new()
    .backoff(Duration::from_millis(100), Duration::from_secs(1))
    .intensity(5, Duration::from_secs(60));

#[tokio::test(start_paused = true)]
async fn a_restarted_task_backs_off_exponentially_with_jitter() {
    let report = quiet()
        .supervise(|ctx| async move {
            let starts = restarted_runs(&ctx, 4, BACKOFF).await;
            assert_eq!(starts.len(), 5);
            // Restart n waits between half of and all of 100 ms * 2^n.
            for (n, pair) in starts.windows(2).enumerate() {
                let gap = pair[1] - pair[0];
                let full = Duration::from_millis(100 << n);
                assert!(
                    gap >= full / 2 && gap <= full + Duration::from_millis(5),
                    "restart {n} after {gap:?}"
                );
            }
        })
        .await;
    assert_eq!(report.exit_code(), 0, "{report}");
    let restarted = &report.restarts[0];
    assert_eq!(
        (restarted.who.name.as_str(), restarted.restarts),
        ("flaky", 4)
    );
    assert_eq!(restarted.gave_up, None);
    assert!(
        matches!(&restarted.last_failure, Some(FailureKind::Error(e)) if e.to_string() == "run 4 failed")
    );
    assert!(
        report.to_string().contains("`flaky` in scope `main`"),
        "{report}"
    );
}

#[tokio::test(start_paused = true)]
async fn past_the_restart_intensity_the_failure_escalates() {
    let report = quiet()
        .supervise(|ctx| async move {
            let starts = restarted_runs(&ctx, u32::MAX, BACKOFF).await;
            assert_eq!(starts.len(), 6, "the first run and 5 restarts");
        })
        .await;
    assert_eq!(report.exit_code(), 1, "{report}");
    assert_eq!(
        report.reason,
        Reason::Failed {
            task: "flaky".into()
        }
    );
    assert_eq!(report.failures.len(), 1, "{report}");
    assert!(
        matches!(&report.failures[0].kind, FailureKind::Error(e) if e.to_string() == "run 6 failed")
    );
    let restarted = &report.restarts[0];
    assert_eq!(restarted.restarts, 5);
    assert_eq!(
        restarted.gave_up.as_deref(),
        Some("gave up: 5 restarts within 60.00s, the limit")
    );
    assert!(
        report
            .to_string()
            .contains("gave up: 5 restarts within 60.00s"),
        "{report}"
    );
}

#[tokio::test(start_paused = true)]
async fn restarts_spread_out_over_the_window_do_not_escalate() {
    // Every delay is 5 to 10 s, so two restarts never fall within 4 s.
    let restart = Restart::new()
        .backoff(Duration::from_secs(10), Duration::from_secs(10))
        .intensity(1, Duration::from_secs(4));
    let report = quiet()
        .supervise(move |ctx| async move {
            let starts = restarted_runs(&ctx, 6, restart).await;
            assert_eq!(starts.len(), 7);
        })
        .await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.restarts[0].restarts, 6);
}

#[tokio::test(start_paused = true)]
async fn nothing_is_restarted_once_shutdown_began() {
    let runs = Arc::new(AtomicU32::new(0));
    let r = runs.clone();
    let report = quiet()
        .supervise(move |ctx| async move {
            ctx.spawn_restarting("worker", Restart::new().on_any_return(), move |ctx| {
                r.fetch_add(1, Ordering::SeqCst);
                async move { ctx.cancelled().await }
            });
            tokio::time::sleep(Duration::from_millis(10)).await;
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(report.restarts.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_panicking_run_is_restarted_and_its_panic_reported() {
    let runs = Arc::new(AtomicU32::new(0));
    let r = runs.clone();
    let report = quiet()
        .supervise(move |ctx| async move {
            let handle = ctx.spawn_restarting(
                "parser",
                Restart::new().intensity(1, Duration::from_secs(60)),
                move |_| {
                    r.fetch_add(1, Ordering::SeqCst);
                    async { panic!("unexpected token") }
                },
            );
            let err = handle.await.unwrap_err();
            assert!(err.to_string().contains("unexpected token"), "{err}");
        })
        .await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(report.exit_code(), 1, "{report}");
    assert!(
        matches!(&report.failures[0].kind, FailureKind::Panic(p) if p.message == "unexpected token")
    );
    assert_eq!(report.failures.len(), 1, "reported once: {report}");
}

#[tokio::test(start_paused = true)]
async fn a_partial_drain_past_its_budget_is_an_isolated_failure() {
    let report = quiet()
        .supervise(|ctx| async move {
            let pool = ctx.scope("pool").drain_budget(Duration::from_millis(500));
            pool.spawn("stuck connection", std::future::pending::<()>());
            pool.drain().await;
            assert_eq!(ctx.reason(), None);
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.isolated[0].who.name, "stuck connection");
}
