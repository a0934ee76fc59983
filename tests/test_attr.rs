//! `#[graceful::test]` itself: simulated signals (the window, a forcing
//! second one, the dump, reload), time, `#[graceful::task]` functions,
//! `graceful::http::serve`, and when a test fails on its own.

#![cfg(unix)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use graceful::report::Outcome;
use graceful::{Context, Reason, Signal, State, Test};
use in_process::{events, worker};

mod in_process;

#[graceful::test]
async fn a_simulated_sigterm_starts_the_shutdown(ctx: Context, test: Test) {
    worker(&ctx, "flusher", Duration::from_secs(2));
    test.signal(Signal::Terminate);
    ctx.shutdown_requested().await;
    assert_eq!(ctx.reason(), Some(Reason::Signal(Signal::Terminate)));
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.shutdown_took, Duration::from_secs(2));
}

#[graceful::test]
async fn copies_within_the_signal_window_are_one_request(ctx: Context, test: Test) {
    worker(&ctx, "flusher", Duration::from_secs(2));
    test.signal(Signal::Interrupt);
    test.advance(Signal::WINDOW / 2).await;
    test.signal(Signal::Terminate); // a wrapper forwarding it as SIGTERM
    let report = test.report().await;
    assert_eq!(report.outcome, Outcome::Completed, "{report}");
    assert_eq!(report.reason, Reason::Signal(Signal::Interrupt));
}

#[graceful::test]
async fn a_second_signal_after_the_window_forces_the_exit(ctx: Context, test: Test) {
    worker(&ctx, "flusher", Duration::from_secs(2));
    test.signal(Signal::Terminate);
    test.advance(Duration::from_secs(1)).await;
    test.signal(Signal::Terminate);
    let report = test.report().await;
    assert_eq!(report.outcome, Outcome::Forced(Signal::Terminate));
    assert_eq!(report.exit_code(), 143);
    assert_eq!(report.still_running[0].who.name, "flusher");
    assert_eq!(report.shutdown_took, Duration::from_secs(1));
}

#[graceful::test]
async fn a_second_ctrl_c_exits_with_130(ctx: Context, test: Test) {
    worker(&ctx, "flusher", Duration::from_secs(2));
    test.signal(Signal::Interrupt);
    test.advance(Signal::WINDOW * 2).await;
    test.signal(Signal::Interrupt);
    assert_eq!(test.report().await.exit_code(), 130);
}

#[graceful::task]
async fn resize(ctx: Context, photo: String) {
    let _ = photo;
    ctx.cancelled().await;
}

#[graceful::test]
async fn the_dump_names_tasks_and_hooks_and_the_service_goes_on(ctx: Context, test: Test) {
    let jobs = ctx.scope("jobs");
    resize(&jobs, "cat.jpg".into());
    jobs.defer("close queue", async {});
    jobs.describe(|| vec!["job 7: cat.jpg".into()]);
    test.advance(Duration::from_secs(3)).await;
    test.signal(Signal::User1); // printed on stderr; the process goes on
    test.advance(Duration::from_secs(1)).await;
    assert_eq!(ctx.state(), State::Running);
    let dump = test.dump();
    assert!(
        dump.starts_with("graceful: task dump; Running, up 4.00s"),
        "{dump}"
    );
    for line in [
        "scope `main/jobs` (running)",
        "- task `resize`, defined at tests/test_attr.rs:",
        "age 4.00s, running",
        "- hook `close queue`, deferred at tests/test_attr.rs:",
        "    job 7: cat.jpg",
    ] {
        assert!(dump.contains(line), "{line:?} in {dump}");
    }
}

#[graceful::test]
async fn sighup_runs_the_reload_hooks(ctx: Context, test: Test) {
    let reloads = Arc::new(AtomicU32::new(0));
    let r = reloads.clone();
    ctx.on_reload("config", move || {
        r.fetch_add(1, Ordering::SeqCst);
        async {}
    });
    test.signal(Signal::Hangup);
    test.advance(Duration::from_millis(10)).await;
    assert_eq!(reloads.load(Ordering::SeqCst), 1);
    assert_eq!(ctx.reason(), None, "a reload is no shutdown");
    ctx.shutdown();
    test.signal(Signal::Hangup); // ignored once the shutdown began
    test.report().await;
    assert_eq!(reloads.load(Ordering::SeqCst), 1);
}

/// A reload hook that fails is an isolated failure of the scope that
/// registered it, not of `main`, named for where it was registered.
#[graceful::test]
async fn a_failed_reload_hook_is_reported_in_its_scope(ctx: Context, test: Test) {
    let settings = ctx.scope("http").scope("settings");
    settings.on_reload("config", || async { Err::<(), _>("bad config") });
    test.signal(Signal::Hangup);
    test.advance(Duration::from_millis(10)).await;
    ctx.shutdown();
    let report = test.report().await;
    assert_eq!(report.exit_code(), 0, "a failed reload stops nothing");
    let [failure] = &report.isolated[..] else {
        panic!("one isolated failure: {report}")
    };
    let who = &failure.who;
    assert_eq!(
        (who.name.as_str(), who.scope.as_str(), who.hook),
        ("reload: config", "main/http/settings", false)
    );
    assert!(who.spawned_at.contains("tests/test_attr.rs:"), "{who}");
    assert_eq!(failure.kind.to_string(), "returned an error: bad config");
}

#[graceful::task]
async fn fetch_prices(ctx: Context) -> anyhow::Result<()> {
    ctx.run_until_cancelled(tokio::time::sleep(Duration::from_secs(5)))
        .await;
    anyhow::bail!("price feed closed the connection")
}

#[graceful::task]
async fn ignores_cancellation(_ctx: Context) {
    std::future::pending::<()>().await;
}

#[graceful::test(timeout = "3s")]
async fn task_functions_are_named_with_where_they_are_defined(ctx: Context, test: Test) {
    fetch_prices(&ctx);
    ignores_cancellation(&ctx.scope("stuck"));
    let report = test.report().await;
    assert_eq!(test.elapsed(), Duration::from_secs(5 + 3));
    let failure = &report.failures[0];
    assert_eq!(failure.who.name, "fetch_prices");
    assert_eq!(
        failure.kind.to_string(),
        "returned an error: price feed closed the connection"
    );
    let stuck = &report.still_running[0];
    assert_eq!(
        (stuck.who.name.as_str(), stuck.who.scope.as_str()),
        ("ignores_cancellation", "main/stuck")
    );
    let defined = stuck.who.defined_at.as_deref().unwrap_or_default();
    assert!(defined.starts_with("tests/test_attr.rs:"), "{report}");
}

#[graceful::test]
async fn the_body_keeps_the_lifecycle_alive_until_it_awaits_the_report(ctx: Context, test: Test) {
    // No task runs, yet the lifecycle does not end: the body may start some.
    test.advance(Duration::from_secs(10)).await;
    assert_eq!(ctx.reason(), None);
    ctx.spawn("job", tokio::time::sleep(Duration::from_secs(1)));
    // Waiting for the report, the body lets the lifecycle end by itself.
    let report = test.report().await;
    assert_eq!(report.reason, Reason::Finished);
    assert_eq!(
        events(&test),
        [
            "task `job` ended in `main` at 11.00s",
            "scope `main` drained at 11.00s"
        ]
    );
}

#[graceful::test(start_paused = false, flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_real_threads_in_real_time(ctx: Context, test: Test) {
    worker(&ctx, "flusher", Duration::from_millis(20));
    test.signal(Signal::Terminate);
    let report = test.report().await;
    assert!(
        report.shutdown_took >= Duration::from_millis(20),
        "{report}"
    );
    assert_eq!(report.exit_code(), 0);
}

#[graceful::test]
#[should_panic(expected = "the shutdown did not end cleanly (exit code 1)")]
async fn a_failure_the_test_did_not_look_at_fails_it(ctx: Context) {
    ctx.spawn("fetch", async { Err::<(), _>("connection refused") });
}

#[graceful::test(timeout = "1s")]
#[should_panic(expected = "graceful: shutdown deadline of 1.00s passed")]
async fn a_deadline_the_test_did_not_expect_fails_it(ctx: Context) {
    ctx.spawn("stubborn", std::future::pending::<()>());
}

#[graceful::test]
#[should_panic(expected = "task `late` in scope `main` (spawned at tests/test_attr.rs:")]
async fn a_task_that_outlives_the_lifecycle_fails_the_test(ctx: Context, test: Test) {
    ctx.shutdown();
    test.report().await;
    ctx.spawn("late", std::future::pending::<()>());
}

#[graceful::test]
#[should_panic(expected = "hook `too late` in scope `main/db`")]
async fn a_hook_that_never_runs_fails_the_test(ctx: Context, test: Test) {
    let db = ctx.scope("db");
    let d = db.clone();
    db.spawn("pool", async move { d.cancelled().await });
    ctx.shutdown();
    test.report().await;
    db.defer("too late", async {});
}

#[graceful::test]
#[should_panic(expected = "graceful: the test returned an error: no config")]
async fn an_error_of_the_body_fails_the_test(ctx: Context) -> Result<(), String> {
    worker(&ctx, "flusher", Duration::ZERO);
    Err("no config".into())
}

#[cfg(feature = "http")]
mod http {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::{Router, extract::State, routing::get};
    use graceful::http::{self, RequestContext};
    use graceful::{Context, Reason, Signal, Test};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::Notify;

    /// Takes two seconds; says whether the shutdown began meanwhile.
    async fn slow(
        State(started): State<Arc<Notify>>,
        RequestContext(ctx): RequestContext,
    ) -> String {
        started.notify_one();
        tokio::time::sleep(Duration::from_secs(2)).await;
        format!("done, cancelled: {}", ctx.is_cancelled())
    }

    #[graceful::test]
    async fn a_request_in_flight_at_sigterm_is_answered(ctx: Context, test: Test) {
        let listener = http::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let started = Arc::new(Notify::new());
        let app = Router::new()
            .route("/slow", get(slow))
            .with_state(started.clone());
        http::serve(&ctx, listener, app);

        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /slow HTTP/1.1\r\nhost: test\r\n\r\n")
            .await
            .unwrap();
        started.notified().await;
        test.signal(Signal::Terminate);
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.contains("connection: close"), "{answer}");
        assert!(answer.ends_with("done, cancelled: true"), "{answer}");

        let report = test.report().await;
        assert_eq!(report.reason, Reason::Signal(Signal::Terminate));
        assert_eq!(report.exit_code(), 0, "{report}");
        assert_eq!(report.shutdown_took, Duration::from_secs(2));
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "refused"
        );
    }
}
