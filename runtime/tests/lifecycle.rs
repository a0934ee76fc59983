//! The lifecycle in-process through the builder, under tokio's paused
//! clock: `main` as the root task, tasks outliving it, scopes created and
//! dropped by the thousand, work handed across scopes and threads. (The
//! order of the drain, failures, the deadline and the lame duck are tested
//! with `#[graceful::test]` in the facade's `tests/lifecycle.rs`.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gracefully_runtime::report::FailureKind;
use gracefully_runtime::{Context, Reason, Runtime};

/// A shared log of events, to assert their order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

fn quiet() -> Runtime {
    Runtime::new().signals([])
}

/// A task that logs when it is cancelled, after `linger` more time.
fn worker(ctx: &Context, log: &Log, name: &'static str, linger: Duration) {
    let (c, log) = (ctx.clone(), log.clone());
    ctx.spawn(name, async move {
        c.cancelled().await;
        tokio::time::sleep(linger).await;
        log.push(format!("{name} stopped"));
    });
}

#[tokio::test(start_paused = true)]
async fn main_failing_is_a_failure_too() {
    let report = quiet()
        .supervise(|ctx| async move {
            worker(&ctx, &Log::default(), "bystander", Duration::ZERO);
            Err::<(), _>("config missing")
        })
        .await;
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.failures[0].who.name, "main");
    assert_eq!(
        report.failures[0].kind,
        FailureKind::Error("config missing".into())
    );
}

#[tokio::test(start_paused = true)]
async fn the_process_lives_while_tasks_run_after_main_returned() {
    let log = Log::default();
    let l = log.clone();
    let report = quiet()
        .supervise(|ctx| async move {
            let l2 = l.clone();
            ctx.defer("hook", async move { l2.push("hook") });
            for i in 1..=3u64 {
                let l = l.clone();
                ctx.spawn(format!("job {i}"), async move {
                    tokio::time::sleep(Duration::from_secs(i)).await;
                    l.push(format!("job {i} done"));
                });
            }
            l.push("main returned");
        })
        .await;
    assert_eq!(report.reason, Reason::Finished);
    assert_eq!(report.exit_code(), 0);
    assert_eq!(
        log.take(),
        [
            "main returned",
            "job 1 done",
            "job 2 done",
            "job 3 done",
            "hook"
        ]
    );
}

#[tokio::test(start_paused = true)]
/// Ten thousand short-lived scopes, each with a finished task, then a
/// drain: it completes cleanly. (That the parent forgets them as they are
/// dropped is checked by the unit test `spent_child_scopes_are_pruned`.)
async fn many_short_lived_scopes_then_a_clean_drain() {
    let report = quiet()
        .supervise(|ctx| async move {
            for i in 0..10_000 {
                let conn = ctx.scope("conn");
                conn.spawn("request", async move { i % 2 }.map_unit());
                tokio::task::yield_now().await;
            }
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 0, "{report}");
}

trait MapUnit: std::future::Future + Sized {
    fn map_unit(self) -> impl std::future::Future<Output = ()> + Send + 'static
    where
        Self: Send + 'static,
    {
        async move {
            self.await;
        }
    }
}
impl<F: std::future::Future> MapUnit for F {}

#[tokio::test]
async fn a_context_spawns_from_a_plain_thread() {
    let report = quiet()
        .supervise(|ctx| async move {
            let c = ctx.clone();
            let handle =
                std::thread::spawn(move || c.spawn("from a thread", async { Ok::<_, String>(7) }))
                    .join()
                    .unwrap();
            assert_eq!(handle.await.unwrap(), 7);
        })
        .await;
    assert_eq!(report.exit_code(), 0);
}

/// Each hop spawns the next into the other scope and returns at once, so at
/// every moment exactly one task of the chain runs, in a scope that changes
/// every time.
fn hop(scopes: Arc<[Context; 2]>, log: Log, chain: u32, left: u32) {
    let next = scopes.clone();
    scopes[left as usize % 2].spawn(format!("hop {left}"), async move {
        tokio::task::yield_now().await;
        if left == 0 {
            log.push(format!("chain {chain} done"));
        } else {
            hop(next, log, chain, left - 1);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_handing_work_across_scopes_keep_the_process_alive() {
    // Two chains hop between a scope looked at early and one looked at late
    // (empty scopes in between make the look long), so that "every task
    // ended" is checked while hops happen: it must never be concluded
    // before both chains ended.
    for _ in 0..20 {
        let log = Log::default();
        let l = log.clone();
        let report = quiet()
            .supervise(|ctx| async move {
                let early = ctx.scope("a").scope("b");
                let idle: Vec<_> = (0..500).map(|_| ctx.scope("idle")).collect();
                let scopes = Arc::new([ctx.scope("c"), early]);
                hop(scopes.clone(), l.clone(), 1, 500);
                hop(scopes, l, 2, 501);
                drop(idle);
            })
            .await;
        assert_eq!(report.reason, Reason::Finished, "{report}");
        let mut seen = log.take();
        seen.sort();
        assert_eq!(seen, ["chain 1 done", "chain 2 done"]);
    }
}

#[tokio::test(start_paused = true)]
async fn tasks_in_nested_scopes_outlive_main_until_they_end() {
    let log = Log::default();
    let l = log.clone();
    let report = quiet()
        .supervise(|ctx| async move {
            let deep = ctx.scope("a").scope("b");
            deep.spawn("slow", async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                l.push("slow done");
            });
        })
        .await;
    assert_eq!(report.reason, Reason::Finished);
    assert_eq!(log.take(), ["slow done"]);
    assert!(report.shutdown_took < Duration::from_secs(1), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_wait_created_before_the_cancellation_and_polled_after_completes() {
    let report = quiet()
        .supervise(|ctx| async move {
            let c = ctx.clone();
            ctx.spawn("late poller", async move {
                let cancelled = c.cancelled();
                let during = c.run_until_cancelled(std::future::pending::<()>());
                // Not polled until the scope is already cancelled.
                tokio::time::sleep(Duration::from_secs(1)).await;
                assert!(c.is_cancelled());
                cancelled.await;
                assert_eq!(during.await, None);
                // A finished future wins only while the scope runs.
                assert_eq!(c.run_until_cancelled(async { 7 }).await, None);
            });
            assert_eq!(ctx.run_until_cancelled(async { 7 }).await, Some(7));
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 0, "{report}");
}

#[tokio::test(start_paused = true)]
async fn finished_tasks_are_not_reported_as_stuck() {
    let report = quiet()
        .timeout(Duration::from_secs(2))
        .supervise(|ctx| async move {
            let jobs = ctx.scope("jobs");
            for _ in 0..1_000 {
                jobs.spawn("quick", async {});
            }
            // Spawns after the quick ones ended drop their entries.
            tokio::time::sleep(Duration::from_millis(10)).await;
            for _ in 0..100 {
                jobs.spawn("quick", async {});
            }
            jobs.spawn("stuck", std::future::pending::<()>());
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 124);
    let names: Vec<_> = report
        .still_running
        .iter()
        .map(|r| r.who.name.as_str())
        .collect();
    assert_eq!(names, ["stuck"], "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_child_scope_created_during_the_drain_is_cancelled_with_its_parent() {
    let report = quiet()
        .timeout(Duration::from_secs(5))
        .supervise(|ctx| async move {
            let c = ctx.clone();
            ctx.spawn("parent", async move {
                // Each round waits for a task of a new child scope; the one
                // created while the parent scope drains its children must be
                // cancelled with the parent, or this waits until the deadline.
                while !c.is_cancelled() {
                    let child = c.scope("late");
                    let cc = child.clone();
                    let _ = child
                        .spawn("waits", async move { cc.cancelled().await })
                        .await;
                }
            });
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 0, "{report}");
}
