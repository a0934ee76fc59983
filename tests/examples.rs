//! The seed examples as processes: started, sent real `SIGINT`/`SIGTERM`,
//! checked for exit code, output order and timing. Each test waits for the
//! example's "started" line (printed once the signal handlers are
//! installed) before signalling, so no sleep races the program.

mod common;

use std::time::{Duration, Instant};

use common::{EXIT, Exit, Signal, count, example, start};

/// Starts example `name`, waits for its started line and for `then`,
/// sends `sig`, and returns the exit and how long it took after the signal.
fn run_until_signal(name: &str, then: &str, sig: Signal) -> (Exit, Duration) {
    let started = format!("{name}: started");
    common::run_until_signal(example(name), &[&started, then], sig)
}

#[test]
fn hello_loop_stops_on_sigint_and_sigterm_with_0() {
    for (sig, name) in [(Signal::SIGINT, "SIGINT"), (Signal::SIGTERM, "SIGTERM")] {
        let (exit, _) = run_until_signal("hello_loop", "hello in a loop", sig);
        assert_eq!(exit.code, Some(0), "{exit}");
        assert!(
            exit.line("hello in a loop") < exit.line("ticker: stopped"),
            "{exit}"
        );
        assert!(exit.stderr.contains(&format!("{name} received")), "{exit}");
        assert!(exit.stderr.contains("shutdown complete"), "{exit}");
    }
}

#[test]
fn two_loops_both_stop_on_one_signal() {
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        let (exit, after_signal) = run_until_signal("two_loops", "fast: tick 1", sig);
        assert_eq!(exit.code, Some(0), "{exit}");
        exit.line("fast: stopped after");
        exit.line("slow: stopped after");
        // The slow loop is cancelled in the middle of its one-second sleep.
        assert!(
            after_signal < Duration::from_secs(5),
            "{after_signal:?}\n{exit}"
        );
    }
}

#[test]
fn errgroup_fails_by_itself_and_exits_1_naming_the_task() {
    let mut p = start(example("errgroup"));
    p.wait_for("errgroup: started");
    let exit = p.wait(EXIT);
    assert_eq!(exit.code, Some(1), "{exit}");
    // It fails about two seconds after start, with no signal.
    assert!(exit.elapsed >= Duration::from_millis(1500), "{exit}");
    assert!(
        exit.line("flaky_upstream: failing") < exit.line("poll_feed: cancelled"),
        "{exit}"
    );
    assert!(
        exit.stderr.contains("task `flaky_upstream` failed"),
        "{exit}"
    );
    assert!(
        exit.stderr
            .contains("task `flaky_upstream` in scope `main` (defined at examples/errgroup.rs:")
            && exit
                .stderr
                .contains(", spawned at examples/errgroup.rs:30:"),
        "{exit}"
    );
    assert!(
        exit.stderr
            .contains("upstream closed the connection: connection reset"),
        "{exit}"
    );
}

#[test]
fn stuck_task_exits_124_at_the_deadline_naming_the_task() {
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        let (exit, after_signal) = run_until_signal("stuck_task", "stubborn: still busy", sig);
        assert_eq!(exit.code, Some(124), "{exit}");
        exit.line("polite: stopped");
        // The deadline is `timeout = "2s"`.
        assert!(
            after_signal >= Duration::from_millis(1900),
            "{after_signal:?}\n{exit}"
        );
        assert!(exit.stderr.contains("deadline of 2.00s passed"), "{exit}");
        assert!(
            exit.stderr
                .contains("task `stubborn` in scope `main`, defined at examples/stuck_task.rs"),
            "{exit}"
        );
        assert!(!exit.stderr.contains("task `polite`"), "{exit}");
    }
}

#[test]
fn stuck_task_deadline_follows_graceful_timeout() {
    let mut cmd = example("stuck_task");
    cmd.env("GRACEFUL_TIMEOUT", "500ms");
    let mut p = start(cmd);
    p.wait_for("stuck_task: started");
    p.signal(Signal::SIGTERM);
    let exit = p.wait(EXIT);
    assert_eq!(exit.code, Some(124), "{exit}");
    assert!(exit.stderr.contains("deadline of 500ms passed"), "{exit}");
}

/// A deadline equal to the progress interval (5 s): the deadline report,
/// not a progress line at the same instant naming the same task.
#[test]
fn no_progress_line_at_the_deadline() {
    let mut cmd = example("stuck_task");
    cmd.env("GRACEFUL_TIMEOUT", "5s");
    let mut p = start(cmd);
    p.wait_for("stuck_task: started");
    p.signal(Signal::SIGTERM);
    let exit = p.wait(Duration::from_secs(30));
    assert_eq!(exit.code, Some(124), "{exit}");
    assert!(exit.stderr.contains("deadline of 5.00s passed"), "{exit}");
    assert!(!exit.stderr.contains("still draining"), "{exit}");
}

#[test]
fn stuck_task_second_sigint_exits_130_at_once() {
    let mut p = start(example("stuck_task"));
    p.wait_for("stuck_task: started");
    p.signal(Signal::SIGINT);
    p.wait_for_stderr("send SIGINT again to force exit");
    // After the window in which copies of the first are the same request.
    std::thread::sleep(graceful::Signal::WINDOW + Duration::from_millis(20));
    let sent = Instant::now();
    p.signal(Signal::SIGINT);
    let exit = p.wait(EXIT);
    let took = sent.elapsed();
    assert_eq!(exit.code, Some(130), "{exit}");
    assert!(took < Duration::from_secs(1), "{took:?}\n{exit}");
    assert!(exit.stderr.contains("second SIGINT"), "{exit}");
    assert!(exit.stderr.contains("task `stubborn`"), "{exit}");
}

#[test]
fn worker_pool_consumes_every_produced_job() {
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // Consumers are slower than producers: by then a backlog is queued.
        let (exit, _) = run_until_signal("worker_pool", "sent 100 jobs", sig);
        assert_eq!(exit.code, Some(0), "{exit}");
        let produced = count(&exit, "produced");
        let consumed = count(&exit, "consumed");
        assert!(produced >= 100, "{exit}");
        assert_eq!(produced, consumed, "{exit}");
        // Producers stop first; consumers end when the channel is empty.
        let last_producer = exit
            .line("producer 0: stopped")
            .max(exit.line("producer 1: stopped"));
        let first_consumer = exit.line("channel closed and empty");
        assert!(last_producer < first_consumer, "{exit}");
        assert!(first_consumer < exit.line("produced"), "{exit}");
    }
}

#[test]
fn ordered_shutdown_closes_the_database_after_the_service() {
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        let mut p = start(example("ordered_shutdown"));
        let started = p.wait_for("ordered_shutdown: started, writing to ");
        let path = started.rsplit("writing to ").next().unwrap().to_string();
        assert!(
            std::path::Path::new(&path).exists(),
            "{path} was not created"
        );
        p.signal(sig);
        let exit = p.wait(EXIT);
        assert_eq!(exit.code, Some(0), "{exit}");
        let stopped = exit.line("service: stopped after");
        let closing = exit.line("db: closing");
        let closed = exit.line("db: closed with");
        assert!(stopped < closing && closing < closed, "{exit}");
        // The service's last write happened before the close.
        assert!(
            exit.stdout[closed].ends_with("the last one \"service stopped\""),
            "{exit}"
        );
        assert!(
            !std::path::Path::new(&path).exists(),
            "{path} was not removed"
        );
    }
}
