//! The lifecycle in-process, under tokio's paused clock: ordering of drain
//! and hooks, errgroup failures, panics, deadline, lame duck.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use graceful_runtime::{Context, FailureKind, Outcome, Reason, Report, Runtime, State, TaskError};

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
async fn children_drain_before_parents_and_hooks_run_last_first() {
    let log = Log::default();
    let l = log.clone();
    let report = quiet()
        .supervise(|ctx| async move {
            let db = ctx.clone();
            let l2 = l.clone();
            db.defer("close db", async move { l2.push("db closed") });
            let l3 = l.clone();
            db.defer("flush", async move { l3.push("flushed") });
            worker(&ctx, &l, "root task", Duration::ZERO);
            let http = ctx.scope("http");
            // Slow to stop: the root task must still wait for it.
            worker(&http, &l, "http task", Duration::from_secs(3));
            let l4 = l.clone();
            http.defer("http hook", async move { l4.push("http hook") });
            let deep = http.scope("conn");
            worker(&deep, &l, "conn task", Duration::from_secs(1));
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.reason, Reason::Requested);
    assert_eq!(
        log.take(),
        [
            "conn task stopped",
            "http task stopped",
            "http hook",
            "root task stopped",
            "flushed",
            "db closed"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn every_hook_runs_even_after_one_failed() {
    let log = Log::default();
    let l = log.clone();
    let report = quiet()
        .supervise(|ctx| async move {
            let l1 = l.clone();
            ctx.defer("first", async move { l1.push("first") });
            ctx.defer("fails", async { Err::<(), _>("cannot flush") });
            ctx.defer("panics", async { panic!("hook exploded") });
            let l2 = l.clone();
            ctx.defer("last", async move { l2.push("last") });
            ctx.shutdown();
        })
        .await;
    assert_eq!(log.take(), ["last", "first"]);
    assert_eq!(report.exit_code(), 1, "{report}");
    let failed: Vec<_> = report.failures.iter().map(|f| f.task.as_str()).collect();
    assert_eq!(failed, ["panics", "fails"]);
    assert!(
        matches!(&report.failures[0].kind, FailureKind::Panic(p) if p.message == "hook exploded")
    );
}

#[tokio::test(start_paused = true)]
async fn first_error_cancels_the_rest_and_every_failure_is_kept() {
    let log = Log::default();
    let l = log.clone();
    let report = quiet()
        .supervise(|ctx| async move {
            worker(&ctx, &l, "bystander", Duration::ZERO);
            let c = ctx.clone();
            ctx.spawn("late failure", async move {
                c.cancelled().await;
                Err::<(), _>(std::io::Error::other("flush failed"))
            });
            ctx.spawn("fetcher", async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Err::<(), _>(std::io::Error::other("connection refused"))
            });
        })
        .await;
    assert_eq!(
        report.reason,
        Reason::Failed {
            task: "fetcher".into()
        }
    );
    assert_eq!(report.exit_code(), 1);
    assert_eq!(log.take(), ["bystander stopped"]);
    let text: Vec<_> = report
        .failures
        .iter()
        .map(|f| (f.task.as_str(), f.kind.to_string()))
        .collect();
    assert_eq!(
        text,
        [
            (
                "fetcher",
                "returned an error: connection refused".to_string()
            ),
            (
                "late failure",
                "returned an error: flush failed".to_string()
            )
        ]
    );
    assert!(
        report.failures[0].spawned_at.contains("lifecycle.rs"),
        "{report}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_a_failure_with_payload_and_location() {
    let report = quiet()
        .supervise(|ctx| async move {
            let handle = ctx.spawn("parser", async { panic!("unexpected token") });
            match handle.await {
                Err(TaskError::Panicked(p)) => assert_eq!(p.message, "unexpected token"),
                other => panic!("expected a panic, got {other:?}"),
            }
        })
        .await;
    assert_eq!(report.exit_code(), 1);
    assert_eq!(
        report.reason,
        Reason::Failed {
            task: "parser".into()
        }
    );
    let FailureKind::Panic(panic) = &report.failures[0].kind else {
        panic!("{report}")
    };
    assert_eq!(panic.message, "unexpected token");
    assert!(
        panic
            .location
            .as_deref()
            .unwrap_or("")
            .contains("lifecycle.rs"),
        "{panic:?}"
    );
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
    assert_eq!(report.failures[0].task, "main");
    assert_eq!(
        report.failures[0].kind,
        FailureKind::Error("\"config missing\"".into())
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
async fn a_task_spawned_into_a_cancelled_scope_runs_and_is_awaited() {
    let log = Log::default();
    let l = log.clone();
    let report = quiet()
        .supervise(|ctx| async move {
            let c = ctx.clone();
            ctx.spawn("spawner", async move {
                c.cancelled().await;
                let l1 = l.clone();
                let late = c.clone();
                c.spawn("late", async move {
                    assert!(late.is_cancelled());
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    l1.push("late finished");
                });
                // A scope born cancelled is drained as well.
                let born = c.scope("born cancelled");
                let b = born.clone();
                let l = l.clone();
                born.spawn("in born", async move {
                    assert!(b.is_cancelled());
                    l.push("born finished");
                });
            });
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 0, "{report}");
    let mut seen = log.take();
    seen.sort();
    assert_eq!(seen, ["born finished", "late finished"]);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_names_what_is_stuck() {
    let report: Report = quiet()
        .timeout(Duration::from_secs(5))
        .supervise(|ctx| async move {
            worker(&ctx, &Log::default(), "polite", Duration::ZERO);
            ctx.scope("jobs")
                .spawn("stubborn", std::future::pending::<()>());
            ctx.shutdown();
        })
        .await;
    assert_eq!(
        report.outcome,
        Outcome::DeadlineExceeded {
            timeout: Duration::from_secs(5)
        }
    );
    assert_eq!(report.exit_code(), 124);
    // The root's own task waits for the stuck child scope: not cancelled yet.
    let names: Vec<_> = report
        .still_running
        .iter()
        .map(|r| (r.name.as_str(), r.waiting.is_some()))
        .collect();
    assert_eq!(names, [("polite", false), ("stubborn", true)], "{report}");
    let stuck = &report.still_running[1];
    assert_eq!(
        (stuck.name.as_str(), stuck.scope.as_str()),
        ("stubborn", "main/jobs")
    );
    assert!(stuck.spawned_at.contains("lifecycle.rs"));
    assert!(stuck.waiting.unwrap() >= Duration::from_secs(4), "{report}");
    assert!(
        report
            .to_string()
            .contains("task `stubborn` in scope `main/jobs`"),
        "{report}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stuck_hook_is_named_too() {
    let report = quiet()
        .timeout(Duration::from_secs(2))
        .supervise(|ctx| async move {
            ctx.defer("close pool", std::future::pending::<()>());
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 124);
    assert!(
        report
            .to_string()
            .contains("hook `close pool` in scope `main`"),
        "{report}"
    );
}

#[tokio::test(start_paused = true)]
async fn lame_duck_reports_not_ready_but_keeps_serving() {
    let log = Log::default();
    let l = log.clone();
    let start = tokio::time::Instant::now();
    let report = quiet()
        .lame_duck(Duration::from_secs(5))
        .supervise(|ctx| async move {
            let c = ctx.clone();
            ctx.spawn("server", async move {
                c.shutdown_requested().await;
                l.push(format!(
                    "not ready: {:?}, cancelled: {}",
                    c.state(),
                    c.is_cancelled()
                ));
                c.cancelled().await;
                l.push(format!(
                    "cancelled after {}s: {:?}",
                    start.elapsed().as_secs(),
                    c.state()
                ));
            });
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 0);
    assert_eq!(
        log.take(),
        [
            "not ready: LameDuck, cancelled: false",
            "cancelled after 5s: Draining"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_skips_the_lame_duck() {
    let start = tokio::time::Instant::now();
    let report = quiet()
        .lame_duck(Duration::from_secs(60))
        .supervise(|ctx| async move {
            let c = ctx.clone();
            ctx.spawn("waiter", async move { c.cancelled().await });
            ctx.spawn("broken", async { Err::<(), _>("bad") });
        })
        .await;
    assert_eq!(report.exit_code(), 1);
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn readiness_state_follows_the_lifecycle() {
    let report = quiet()
        .supervise(|ctx| async move {
            assert_eq!(ctx.state(), State::Running);
            assert_eq!(ctx.reason(), None);
            ctx.shutdown();
            assert_eq!(ctx.state(), State::Draining);
            assert_eq!(ctx.reason(), Some(Reason::Requested));
        })
        .await;
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(start_paused = true)]
async fn hook_deferred_after_hooks_ran_still_runs() {
    let log = Log::default();
    let l = log.clone();
    let report = quiet()
        .supervise(|ctx| async move {
            let http = ctx.scope("http");
            let c = ctx.clone();
            // Root's task outlives the http scope's drain, then defers there.
            ctx.spawn("straggler", async move {
                c.cancelled().await;
                http.defer("late hook", async move { l.push("late hook ran") });
            });
            ctx.shutdown();
        })
        .await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(log.take(), ["late hook ran"]);
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
            assert_eq!(handle.await.unwrap().unwrap(), 7);
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
        .map(|r| r.name.as_str())
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
