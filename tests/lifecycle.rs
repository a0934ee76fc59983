//! The lifecycle in-process with `#[graceful::test]`, under the paused
//! clock: the order of the drain and the hooks, errgroup failures, panics,
//! the deadline, the lame duck. (The cases about `main` itself stay in
//! `runtime/tests/lifecycle.rs`.)

#![cfg(unix)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use graceful::report::{FailureKind, Outcome};
use graceful::{Context, EventKind, Reason, Signal, State, TaskError, Test};
use in_process::{events, named, worker};

mod in_process;

#[graceful::test]
async fn children_drain_before_parents_and_hooks_run_last_first(ctx: Context, test: Test) {
    ctx.defer("close db", async {});
    ctx.defer("flush", async {});
    worker(&ctx, "root task", Duration::ZERO);
    let http = ctx.scope("http");
    // Slow to stop: the root task must still wait for it.
    worker(&http, "http task", Duration::from_secs(3));
    http.defer("http hook", async {});
    let conn = http.scope("conn");
    worker(&conn, "conn task", Duration::from_secs(1));
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.reason, Reason::Requested);
    // Each scope is cancelled once its children drained.
    assert_eq!(
        events(&test),
        [
            "task `conn task` ended in `main/http/conn` at 1.00s",
            "scope `main/http/conn` drained at 1.00s",
            "task `http task` ended in `main/http` at 4.00s",
            "hook `http hook` ran in `main/http` at 4.00s",
            "scope `main/http` drained at 4.00s",
            "task `root task` ended in `main` at 4.00s",
            "hook `flush` ran in `main` at 4.00s",
            "hook `close db` ran in `main` at 4.00s",
            "scope `main` drained at 4.00s",
        ]
    );
}

#[graceful::test]
async fn every_hook_runs_even_after_one_failed(ctx: Context, test: Test) {
    ctx.defer("first", async {});
    ctx.defer("fails", async { Err::<(), _>("cannot flush") });
    ctx.defer("panics", async { panic!("hook exploded") });
    ctx.defer("last", async {});
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(
        named(&test, EventKind::HookRan),
        ["last", "panics", "fails", "first"]
    );
    assert_eq!(report.exit_code(), 1, "{report}");
    let failed: Vec<_> = report
        .failures
        .iter()
        .map(|f| f.who.name.as_str())
        .collect();
    assert_eq!(failed, ["panics", "fails"]);
    assert!(
        report
            .to_string()
            .contains("hook `fails` in scope `main` (deferred at tests/lifecycle.rs:52:"),
        "{report}"
    );
    assert!(
        matches!(&report.failures[0].kind, FailureKind::Panic(p) if p.message == "hook exploded")
    );
}

#[graceful::test]
async fn first_error_cancels_the_rest_and_every_failure_is_kept(ctx: Context, test: Test) {
    worker(&ctx, "bystander", Duration::ZERO);
    let c = ctx.clone();
    ctx.spawn("late failure", async move {
        c.cancelled().await;
        Err::<(), _>(std::io::Error::other("flush failed"))
    });
    ctx.spawn("fetcher", async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        Err::<(), _>(std::io::Error::other("connection refused"))
    });
    let report = test.report().await;
    assert_eq!(
        report.reason,
        Reason::Failed {
            task: "fetcher".into()
        }
    );
    assert_eq!(report.exit_code(), 1);
    // The failure first, then the rest, cancelled by it.
    let mut ended = named(&test, EventKind::TaskEnded);
    ended[1..].sort();
    assert_eq!(ended, ["fetcher", "bystander", "late failure"]);
    let text: Vec<_> = report
        .failures
        .iter()
        .map(|f| (f.who.name.as_str(), f.kind.to_string()))
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
        report.failures[0].who.spawned_at.contains("lifecycle.rs"),
        "{report}"
    );
}

#[graceful::test]
async fn a_panic_is_a_failure_with_payload_and_location(ctx: Context, test: Test) {
    let handle = ctx.spawn("parser", async { panic!("unexpected token") });
    match handle.await {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message, "unexpected token"),
        other => panic!("expected a panic, got {other:?}"),
    }
    let report = test.report().await;
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

#[graceful::test]
async fn a_task_spawned_into_a_cancelled_scope_runs_and_is_awaited(ctx: Context, test: Test) {
    let c = ctx.clone();
    ctx.spawn("spawner", async move {
        c.cancelled().await;
        let late = c.clone();
        c.spawn("late", async move {
            assert!(late.is_cancelled());
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        // A scope born cancelled is drained as well.
        let born = c.scope("born cancelled");
        let b = born.clone();
        born.spawn("in born", async move { assert!(b.is_cancelled()) });
    });
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0, "{report}");
    let mut ended: Vec<_> = test
        .events()
        .into_iter()
        .filter(|e| e.kind == EventKind::TaskEnded)
        .map(|e| (e.name, e.scope, e.at.as_secs()))
        .collect();
    ended.sort();
    let ended: Vec<_> = ended
        .iter()
        .map(|(name, scope, at)| (name.as_str(), scope.as_str(), *at))
        .collect();
    assert_eq!(
        ended,
        [
            ("in born", "main/born cancelled", 0),
            ("late", "main", 1),
            ("spawner", "main", 0)
        ]
    );
    assert_eq!(report.shutdown_took, Duration::from_secs(1), "{report}");
}

#[graceful::test(timeout = "5s")]
async fn the_deadline_names_what_is_stuck(ctx: Context, test: Test) {
    worker(&ctx, "polite", Duration::ZERO);
    ctx.scope("jobs")
        .spawn("stubborn", std::future::pending::<()>());
    test.signal(Signal::Terminate);
    let report = test.report().await;
    assert_eq!(
        report.outcome,
        Outcome::DeadlineExceeded {
            timeout: Duration::from_secs(5)
        }
    );
    assert_eq!(report.exit_code(), 124);
    assert_eq!(test.elapsed(), Duration::from_secs(5));
    // The root's own task waits for the stuck child scope: not cancelled yet.
    let names: Vec<_> = report
        .still_running
        .iter()
        .map(|r| (r.who.name.as_str(), r.waiting.is_some()))
        .collect();
    assert_eq!(names, [("polite", false), ("stubborn", true)], "{report}");
    let stuck = &report.still_running[1];
    assert_eq!(
        (stuck.who.name.as_str(), stuck.who.scope.as_str()),
        ("stubborn", "main/jobs")
    );
    assert!(stuck.who.spawned_at.contains("lifecycle.rs"));
    assert_eq!(stuck.waiting, Some(Duration::from_secs(5)), "{report}");
    assert!(
        report
            .to_string()
            .contains("task `stubborn` in scope `main/jobs`"),
        "{report}"
    );
}

#[graceful::test(timeout = "2s")]
async fn a_stuck_hook_is_named_too(ctx: Context, test: Test) {
    ctx.defer("close pool", std::future::pending::<()>());
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(report.exit_code(), 124);
    assert!(
        report
            .to_string()
            .contains("hook `close pool` in scope `main`"),
        "{report}"
    );
}

#[graceful::test(lame_duck = "5s")]
async fn lame_duck_reports_not_ready_but_keeps_serving(ctx: Context, test: Test) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (c, l, t) = (ctx.clone(), log.clone(), test.clone());
    ctx.spawn("server", async move {
        c.shutdown_requested().await;
        let line = format!(
            "not ready: {:?}, cancelled: {}",
            c.state(),
            c.is_cancelled()
        );
        l.lock().unwrap().push(line);
        c.cancelled().await;
        let line = format!("cancelled after {:?}: {:?}", t.elapsed(), c.state());
        l.lock().unwrap().push(line);
    });
    test.signal(Signal::Terminate);
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.reason, Reason::Signal(Signal::Terminate));
    assert_eq!(
        *log.lock().unwrap(),
        [
            "not ready: LameDuck, cancelled: false",
            "cancelled after 5s: Draining"
        ]
    );
}

#[graceful::test(lame_duck = "60s")]
async fn a_failure_skips_the_lame_duck(ctx: Context, test: Test) {
    let c = ctx.clone();
    ctx.spawn("waiter", async move { c.cancelled().await });
    ctx.spawn("broken", async { Err::<(), _>("bad") });
    let report = test.report().await;
    assert_eq!(report.exit_code(), 1);
    assert_eq!(test.elapsed(), Duration::ZERO);
}

#[graceful::test]
async fn readiness_state_follows_the_lifecycle(ctx: Context) {
    assert_eq!(ctx.state(), State::Running);
    assert_eq!(ctx.reason(), None);
    ctx.shutdown();
    assert_eq!(ctx.state(), State::Draining);
    assert_eq!(ctx.reason(), Some(Reason::Requested));
}

#[graceful::test]
async fn a_hook_deferred_after_the_hooks_ran_still_runs(ctx: Context, test: Test) {
    let http = ctx.scope("http");
    let c = ctx.clone();
    // The root's task outlives the http scope's drain, then defers there.
    ctx.spawn("straggler", async move {
        c.cancelled().await;
        http.defer("late hook", async {});
    });
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0, "{report}");
    let events = events(&test);
    let at = |line: &str| events.iter().position(|e| e == line);
    let drained = at("scope `main/http` drained at 0ms");
    let late = at("hook `late hook` ran in `main/http` at 0ms");
    assert!(drained.is_some() && drained < late, "{events:?}");
}

/// A task of the root fills a child scope after that child drained (it was
/// still empty then): the root's hooks wait for the late tasks, and a scope
/// created under the drained child runs its hooks too. (`main` setting up
/// its scopes when an early SIGTERM arrives does exactly this.)
#[graceful::test]
async fn late_tasks_in_a_drained_child_end_before_the_parents_hooks(ctx: Context, test: Test) {
    let workers = ctx.scope("workers");
    ctx.defer("close database", async {});
    let c = ctx.clone();
    ctx.spawn("setup", async move {
        c.cancelled().await;
        tokio::time::sleep(Duration::from_secs(1)).await; // the child drains meanwhile
        worker(&workers, "worker", Duration::from_secs(2));
        let http = workers.scope("http");
        worker(&http, "serve", Duration::from_secs(1));
        http.defer("summary", async {});
    });
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.shutdown_took, Duration::from_secs(3), "{report}");
    let events = events(&test);
    let at = |line: &str| events.iter().position(|e| e == line);
    let worker = at("task `worker` ended in `main/workers` at 3.00s");
    let summary = at("hook `summary` ran in `main/workers/http` at 1.00s");
    let close = at("hook `close database` ran in `main` at 3.00s");
    assert!(worker.is_some() && summary.is_some(), "{events:?}");
    assert!(worker < close, "{events:?}");
}

/// A scope made while its parent's hooks run (by code that holds the
/// parent's context, as an acceptor making a scope per connection does) is
/// drained too, and its hook runs: before stop 23 it never ran (found by
/// the loom model `loom_a_hook_deferred_while_a_scope_drains_runs`).
#[graceful::test]
async fn a_scope_made_while_its_parent_drains_is_drained(ctx: Context, test: Test) {
    let http = ctx.scope("http");
    let parent = http.clone();
    http.defer("http hook", async move {
        let late = parent.scope("late");
        late.defer("late hook", async {});
        worker(&late, "late task", Duration::from_secs(1));
    });
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(
        events(&test),
        [
            "hook `http hook` ran in `main/http` at 0ms",
            "task `late task` ended in `main/http/late` at 1.00s",
            "hook `late hook` ran in `main/http/late` at 1.00s",
            "scope `main/http/late` drained at 1.00s",
            "scope `main/http` drained at 1.00s",
            "scope `main` drained at 1.00s",
        ]
    );
}
