//! Failure policies as processes, with real signals: an isolated failure
//! does not stop the service, a restarted task escalates past its
//! intensity, a scope drains on its own, and a drain budget lets the
//! parent's hooks run.

mod common;

use std::time::Duration;

use common::{EXIT, Signal, run_until_signal, scenario, start};

#[test]
fn an_isolated_failure_is_reported_and_the_service_goes_on() {
    let (exit, _) = run_until_signal(scenario("isolated"), &["ready", "tick 5"], Signal::SIGTERM);
    assert_eq!(exit.code, Some(0), "{exit}");
    assert!(
        exit.stdout.contains(&"polite stopped".to_string()),
        "{exit}"
    );
    assert!(
        exit.stderr
            .contains("1 failure of isolated tasks (the process went on):"),
        "{exit}"
    );
    assert!(
        exit.stderr.contains("`session` in scope `main`")
            && exit.stderr.contains("connection reset by peer"),
        "{exit}"
    );
}

#[test]
fn a_restarted_task_escalates_past_its_intensity() {
    let exit = start(scenario("restart")).wait(EXIT);
    assert_eq!(exit.code, Some(1), "{exit}");
    let runs = exit
        .stdout
        .iter()
        .filter(|l| *l == "consumer: started")
        .count();
    assert_eq!(runs, 4, "the first run and 3 restarts: {exit}");
    assert!(
        exit.stdout.contains(&"polite stopped".to_string()),
        "{exit}"
    );
    assert!(exit.stderr.contains("task `consumer` failed"), "{exit}");
    assert!(
        exit.stderr.contains("`consumer` in scope `main`")
            && exit.stderr.contains("restarted 3 times")
            && exit
                .stderr
                .contains("gave up: 3 restarts within 30.00s, the limit"),
        "{exit}"
    );
}

#[test]
fn a_scope_drains_on_its_own_and_the_rest_keeps_serving() {
    let mut p = start(scenario("partial"));
    p.wait_for("consumer drained");
    p.wait_for("ready");
    // The service keeps serving after the consumer's partial shutdown.
    let ticks = p.wait_for("tick");
    p.wait_for("tick");
    p.signal(Signal::SIGTERM);
    let exit = p.wait(EXIT);
    assert_eq!(exit.code, Some(0), "{exit}");
    let order = [
        "consumer task stopped",
        "hook: commit offsets",
        "consumer drained",
        &ticks,
        "hook: close db",
    ];
    let at: Vec<usize> = order.iter().map(|l| exit.line(l)).collect();
    assert!(at.is_sorted(), "{order:?} at {at:?}: {exit}");
    let commits = exit.stdout.iter().filter(|l| *l == "hook: commit offsets");
    assert_eq!(commits.count(), 1, "the scope's hook ran once: {exit}");
}

#[test]
fn a_drain_budget_abandons_the_stuck_task_and_the_parent_hooks_run() {
    let (exit, after_signal) = run_until_signal(scenario("budget"), &["ready"], Signal::SIGTERM);
    assert_eq!(exit.code, Some(1), "{exit}");
    assert!(
        after_signal < Duration::from_secs(5),
        "{after_signal:?} {exit}"
    );
    assert!(
        exit.stdout.contains(&"hook: close db".to_string()),
        "{exit}"
    );
    assert!(
        exit.stderr.contains("task `flush` in scope `main/cache`")
            && exit.stderr.contains("was abandoned: still running"),
        "{exit}"
    );
}
