//! Failure policies in-process with `#[graceful::test]`, under the paused
//! clock: isolated failures, a scope's default policy, the partial shutdown
//! of a scope and its drain budget. (`tests/policy.rs` runs the same ideas
//! as processes with real signals; restarts stay in
//! `runtime/tests/policy.rs`.)

use std::time::Duration;

use graceful::report::FailureKind;
use graceful::{Context, Policy, Reason, Test};
use in_process::events;

mod in_process;

/// A task of `scope` that ends when the scope is cancelled.
fn until_cancelled(scope: &Context, name: &'static str) {
    let c = scope.clone();
    scope.spawn(name, async move { c.cancelled().await });
}

#[graceful::test]
async fn an_isolated_failure_is_reported_and_the_process_goes_on(ctx: Context, test: Test) {
    for n in 0..25 {
        let _ = ctx
            .spawn_with(Policy::Isolated, format!("session {n}"), async {
                Err::<(), _>("connection reset by peer")
            })
            .await;
    }
    let _ = ctx
        .spawn_with(Policy::Isolated, "panicky", async { panic!("bad frame") })
        .await;
    assert_eq!(
        ctx.reason(),
        None,
        "an isolated failure must not stop the process"
    );
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.reason, Reason::Requested);
    assert_eq!(report.isolated_failures, 26);
    assert_eq!(report.isolated.len(), 20, "only the most recent are kept");
    let last = report.isolated.last().unwrap();
    assert_eq!(last.who.name, "panicky");
    assert!(matches!(&last.kind, FailureKind::Panic(p) if p.message == "bad frame"));
    let text = report.to_string();
    assert!(
        text.contains("26 failures of isolated tasks (the process went on), the last 20:"),
        "{text}"
    );
}

#[graceful::test]
async fn a_scope_can_make_isolated_the_default_for_its_tasks_and_children(
    ctx: Context,
    test: Test,
) {
    let clients = ctx.scope("clients").default_policy(Policy::Isolated);
    let one = clients.scope("one");
    let _ = one.spawn("reader", async { Err::<(), _>("eof") }).await;
    assert_eq!(ctx.reason(), None);
    // An explicit policy wins over the default.
    let _ = clients
        .spawn_with(Policy::Critical, "listener", async {
            Err::<(), _>("port closed")
        })
        .await;
    let report = test.report().await;
    assert_eq!(report.exit_code(), 1, "{report}");
    assert_eq!(
        report.reason,
        Reason::Failed {
            task: "listener".into()
        }
    );
    assert_eq!(report.isolated_failures, 1);
    assert_eq!(report.isolated[0].who.scope, "main/clients/one");
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].who.name, "listener");
}

#[graceful::test]
async fn a_scope_drains_on_its_own_while_the_rest_keeps_running(ctx: Context, test: Test) {
    let consumer = ctx.scope("consumer");
    let fetcher = consumer.scope("fetcher");
    until_cancelled(&consumer, "poll");
    until_cancelled(&fetcher, "fetch");
    consumer.defer("commit offsets", async {});
    ctx.defer("close db", async {});

    test.advance(Duration::from_secs(1)).await;
    consumer.drain().await;
    assert!(consumer.is_cancelled());
    assert!(
        !ctx.is_cancelled() && ctx.reason().is_none(),
        "the rest keeps running"
    );
    test.advance(Duration::from_secs(1)).await;
    consumer.drain().await; // again: nothing left to do
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(
        events(&test),
        [
            "task `fetch` ended in `main/consumer/fetcher` at 1.00s",
            "scope `main/consumer/fetcher` drained at 1.00s",
            "task `poll` ended in `main/consumer` at 1.00s",
            "hook `commit offsets` ran in `main/consumer` at 1.00s",
            "scope `main/consumer` drained at 1.00s",
            "hook `close db` ran in `main` at 2.00s",
            "scope `main` drained at 2.00s",
        ]
    );
}

#[graceful::test(timeout = "30s")]
async fn past_its_drain_budget_a_scope_is_abandoned_and_the_parent_hooks_run(
    ctx: Context,
    test: Test,
) {
    let cache = ctx.scope("cache").drain_budget(Duration::from_secs(2));
    cache.spawn("flush", std::future::pending::<()>());
    cache.defer("drop cache", async {});
    ctx.defer("close db", async {});
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(
        events(&test),
        [
            "hook `drop cache` ran in `main/cache` at 2.00s",
            "scope `main/cache` drained at 2.00s",
            "hook `close db` ran in `main` at 2.00s",
            "scope `main` drained at 2.00s",
        ],
        "both hooks ran: {report}"
    );
    assert_eq!(report.exit_code(), 1, "{report}");
    assert_eq!(report.shutdown_took, Duration::from_secs(2), "{report}");
    let failure = &report.failures[0];
    assert_eq!(
        (failure.who.name.as_str(), failure.who.scope.as_str()),
        ("flush", "main/cache")
    );
    assert!(
        matches!(failure.kind, FailureKind::Abandoned { after } if after >= Duration::from_secs(2))
    );
    assert!(
        report
            .to_string()
            .contains("was abandoned: still running 2.00s after its scope began to drain"),
        "{report}"
    );
}

/// A blocking task's panic is a failure with its location, as an async
/// task's is; a `!Send` task on a `LocalSet` is tracked and awaited.
#[test]
fn blocking_and_local_tasks_are_tasks_of_their_scope() {
    let report = graceful::Runtime::new()
        .signals([])
        .block_on(|ctx| async move {
            let jobs = ctx.scope("jobs").default_policy(Policy::Isolated);
            let crashed = jobs.spawn_blocking("decode", |_ctx| -> () { panic!("bad frame") });
            assert!(matches!(
                crashed.await,
                Err(graceful::TaskError::Panicked(_))
            ));
            let local = jobs.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                tokio::task::LocalSet::new().block_on(&rt, async move {
                    let counter = std::rc::Rc::new(std::cell::Cell::new(0));
                    let c = counter.clone();
                    let handle = local.spawn_local("count", async move {
                        tokio::task::yield_now().await;
                        c.set(c.get() + 1);
                    });
                    handle.await.unwrap();
                    assert_eq!(counter.get(), 1);
                });
            })
            .join()
            .unwrap();
            ctx.shutdown();
        });
    assert_eq!(report.exit_code(), 0);
    let failure = &report.isolated[0];
    assert_eq!(failure.who.name, "decode");
    let FailureKind::Panic(panic) = &failure.kind else {
        panic!("{failure:?}")
    };
    assert_eq!(panic.message, "bad frame");
    assert!(
        panic
            .location
            .as_deref()
            .is_some_and(|at| at.contains("tests/policies.rs")),
        "{panic:?}"
    );
}
