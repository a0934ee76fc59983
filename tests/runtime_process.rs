//! The runtime as a process: real SIGINT/SIGTERM sent to real programs
//! (`tests/fixtures/scenarios.rs` and `examples/without_macros.rs`).

mod common;

use std::time::Duration;

use common::{Signal, example, run_until_signal, scenario, start};

#[test]
fn without_macros_drains_the_worker_before_the_hook_and_exits_0() {
    let mut p = start(example("without_macros"));
    p.wait_for("started");
    p.wait_for("ticker: sent job 3");
    p.signal(Signal::SIGTERM);
    let exit = p.wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(0), "{exit}");
    let stopped = exit.line("ticker: stopped after sending");
    let drained = exit.line("worker: channel closed and drained");
    let closed = exit.line("close:");
    assert!(stopped < drained && drained < closed, "{exit}");
    // Every job sent was handled.
    let sent: u64 = exit.stdout[stopped]
        .split_whitespace()
        .nth(4)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        exit.stdout[drained].contains(&format!("{sent} jobs handled")),
        "{exit}"
    );
    assert!(
        exit.stderr.contains("SIGTERM received, shutting down"),
        "{exit}"
    );
    assert!(
        exit.stderr.contains("send SIGTERM again to force exit"),
        "{exit}"
    );
}

#[test]
fn sigint_drains_scopes_before_hooks_in_order() {
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        let (exit, _) = run_until_signal(scenario("ordered"), &["ready"], sig);
        assert_eq!(exit.code, Some(0), "{exit}");
        let order: Vec<_> = exit.stdout.iter().skip(1).map(String::as_str).collect();
        assert_eq!(
            order,
            [
                "http server stopped",
                "worker stopped",
                "hook: flush",
                "hook: close db"
            ],
            "{exit}"
        );
        // The report is printed exactly once.
        assert_eq!(
            exit.stderr.matches("graceful: shutdown complete").count(),
            1,
            "{exit}"
        );
    }
}

#[test]
fn deadline_exits_124_and_names_the_stuck_task() {
    let (exit, _) = run_until_signal(scenario("stuck"), &["ready"], Signal::SIGTERM);
    assert_eq!(exit.code, Some(124), "{exit}");
    assert!(exit.stderr.contains("deadline of 2.00s passed"), "{exit}");
    assert!(
        exit.stderr.contains("task `stubborn` in scope `main/jobs`"),
        "{exit}"
    );
    assert!(
        exit.stderr.contains("scenarios.rs"),
        "where it was spawned: {exit}"
    );
    assert_eq!(exit.stderr.matches("still running:").count(), 1, "{exit}");
    // The root's polite task is never cancelled: its child scope is stuck.
    assert!(!exit.stdout.iter().any(|l| l == "polite stopped"), "{exit}");
}

#[test]
fn deadline_does_not_wait_for_blocking_threads() {
    let (exit, _) = run_until_signal(scenario("blocking"), &["ready"], Signal::SIGINT);
    assert_eq!(exit.code, Some(124), "{exit}");
    assert!(exit.stderr.contains("task `blocker`"), "{exit}");
}

#[test]
fn second_signal_forces_the_exit_with_128_plus_n() {
    for (sig, code) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        let mut p = start(scenario("stuck").env("GRACEFUL_TIMEOUT", "60s"));
        p.wait_for("ready");
        p.signal(sig);
        p.wait_for_stderr("shutting down");
        // After the window in which copies of the first are the same request.
        std::thread::sleep(graceful::Signal::WINDOW + Duration::from_millis(20));
        let second = std::time::Instant::now();
        p.signal(sig);
        let exit = p.wait(Duration::from_secs(10));
        assert_eq!(exit.code, Some(code), "{exit}");
        assert!(second.elapsed() < Duration::from_secs(5), "{exit}");
        assert!(exit.stderr.contains(&format!("second {sig}")), "{exit}");
        assert!(
            exit.stderr.contains("task `stubborn` in scope `main/jobs`"),
            "{exit}"
        );
    }
}

#[test]
fn task_error_exits_1_naming_task_and_error() {
    let p = start(scenario("fail"));
    let exit = p.wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(1), "{exit}");
    assert!(
        exit.stdout.contains(&"polite stopped".to_string()),
        "{exit}"
    );
    assert!(exit.stderr.contains("task `fetcher` failed"), "{exit}");
    assert!(
        exit.stderr
            .contains("task `fetcher` in scope `main` (spawned at tests/fixtures/scenarios.rs:"),
        "{exit}"
    );
    assert!(
        exit.stderr
            .contains("returned an error: connection refused"),
        "{exit}"
    );
}

#[test]
fn panic_exits_1_with_payload_and_location() {
    let p = start(scenario("panic"));
    let exit = p.wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(1), "{exit}");
    assert!(exit.stderr.contains("`parser` in scope `main`"), "{exit}");
    assert!(
        exit.stderr
            .contains("panicked at tests/fixtures/scenarios.rs:")
            && exit.stderr.contains("unexpected token at line 3"),
        "{exit}"
    );
}

#[test]
fn main_returning_err_exits_1() {
    let p = start(scenario("main-error"));
    let exit = p.wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(1), "{exit}");
    assert!(exit.stderr.contains("`main` in scope `main`"), "{exit}");
    assert!(
        exit.stderr.contains("returned an error: missing config\n"),
        "{exit}"
    );
}

#[test]
fn blocking_tasks_are_drained_and_named_at_the_deadline() {
    let (exit, _) = run_until_signal(scenario("blocking-tracked"), &["ready"], Signal::SIGTERM);
    assert_eq!(exit.code, Some(124), "{exit}");
    assert!(exit.line("resize: finished its last row") > 0, "{exit}");
    assert!(
        exit.stderr.contains("task `hash` in scope `main/jobs`"),
        "{exit}"
    );
    assert!(!exit.stderr.contains("task `resize`"), "{exit}");
}

#[test]
fn an_aborted_scope_takes_every_task_under_it_and_the_process_ends() {
    let exit = start(scenario("abort")).wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(0), "{exit}");
    let aborted = exit.line("overseer: aborted the job");
    assert!(aborted < exit.line("job: released"), "{exit}");
}

#[test]
fn a_scope_drains_after_the_siblings_it_names() {
    let (exit, _) = run_until_signal(scenario("drain-order"), &["ready"], Signal::SIGTERM);
    assert_eq!(exit.code, Some(0), "{exit}");
    let order: Vec<_> = exit.stdout.iter().skip(1).map(String::as_str).collect();
    assert_eq!(
        order,
        [
            "workers stopped",
            "http stopped",
            "db stopped",
            "hook: close pool"
        ],
        "{exit}"
    );
}

#[test]
fn an_essential_task_that_returns_shuts_the_process_down() {
    let exit = start(scenario("essential")).wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(0), "{exit}");
    let ended = exit.line("consumer: queue closed");
    assert!(ended < exit.line("polite stopped"), "{exit}");
    assert!(
        exit.stderr
            .contains("essential task `consumer` ended, shutting down"),
        "{exit}"
    );
}

#[test]
fn a_chosen_exit_code_is_the_exit_code() {
    let exit = start(scenario("exit-code")).wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(78), "{exit}");
    assert!(
        exit.stderr
            .contains("(shutdown requested); exiting with 78, as the program asked"),
        "{exit}"
    );
    // The failure that followed is reported, and does not make it 1.
    assert!(exit.stderr.contains("credentials refused"), "{exit}");
}

#[test]
fn a_program_whose_tasks_all_ended_exits_0_quietly() {
    let exit = start(scenario("nothing")).wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(0), "{exit}");
    assert_eq!(exit.stderr, "", "{exit}");
}

#[test]
fn a_long_drain_names_the_tasks_it_waits_for() {
    let (exit, _) = run_until_signal(scenario("slow"), &["ready"], Signal::SIGTERM);
    assert_eq!(exit.code, Some(0), "{exit}");
    assert!(exit.stderr.contains("still draining after"), "{exit}");
    assert!(
        exit.stderr.contains("waiting for: `slowpoke` (main)"),
        "{exit}"
    );
}

#[test]
fn env_timeout_overrides_the_configured_deadline() {
    let (exit, _) = run_until_signal(
        scenario("stuck").env("GRACEFUL_TIMEOUT", "300ms"),
        &["ready"],
        Signal::SIGTERM,
    );
    assert_eq!(exit.code, Some(124), "{exit}");
    assert!(exit.stderr.contains("deadline of 300ms passed"), "{exit}");
}

#[test]
fn env_lame_duck_keeps_serving_then_cancels() {
    let mut p = start(scenario("lame-duck").env("GRACEFUL_LAME_DUCK", "1500ms"));
    p.wait_for("ready");
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_for("state"), "state LameDuck");
    let exit = p.wait(Duration::from_secs(15));
    assert_eq!(exit.code, Some(0), "{exit}");
    let cancelled = &exit.stdout[exit.line("cancelled after")];
    let ms: u64 = cancelled
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches("ms")
        .parse()
        .unwrap();
    assert!(ms >= 1500, "{exit}");
}

#[test]
fn a_bad_env_value_stops_start_up_naming_the_variable() {
    let not_a_duration = "is not a duration: write e.g. 30s, 1500ms or 1m 30s";
    for (var, value, why) in [
        ("GRACEFUL_TIMEOUT", "soon", not_a_duration),
        ("GRACEFUL_LAME_DUCK", "5 parsecs", not_a_duration),
        (
            "GRACEFUL_LAME_DUCK",
            "1",
            "has no unit: write 1s (seconds) or 1ms (milliseconds)",
        ),
    ] {
        let exit = start(scenario("ordered").env(var, value)).wait(Duration::from_secs(10));
        assert_eq!(exit.code, Some(1), "{exit}");
        assert!(exit.stdout.is_empty(), "user code must not run: {exit}");
        assert!(
            exit.stderr
                .contains(&format!("graceful: {var}={value} {why}")),
            "{exit}"
        );
    }
}

#[test]
fn a_signal_listed_twice_is_one_request() {
    let (exit, _) = run_until_signal(scenario("listed-twice"), &["ready"], Signal::SIGINT);
    assert_eq!(
        exit.code,
        Some(0),
        "one SIGINT must drain, not force: {exit}"
    );
    assert!(
        exit.stdout.contains(&"lingering stopped".to_string()),
        "{exit}"
    );
    assert!(!exit.stderr.contains("second SIGINT"), "{exit}");
}
