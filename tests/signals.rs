//! Signals as a program receives them: near-simultaneous copies, a signal
//! before the runtime exists, the task dump, reload, and the signals that
//! no longer end the process.

mod common;

use std::time::{Duration, Instant};

use common::{EXIT, Signal, run_until_signal, scenario, start};

/// Sends `first`, then `second` after `gap`, to a program whose drain takes
/// 500 ms; returns the exit and the time from the second signal to it.
fn two_signals(first: Signal, second: Signal, gap: Duration) -> (common::Exit, Duration) {
    let mut p = start(scenario("lingering"));
    p.wait_for("ready");
    p.signal(first);
    std::thread::sleep(gap);
    p.signal(second);
    let sent = Instant::now();
    let exit = p.wait(EXIT);
    (exit, sent.elapsed())
}

#[test]
fn copies_within_the_window_are_one_request() {
    for gap in [
        Duration::ZERO,
        Duration::from_millis(1),
        Duration::from_millis(10),
    ] {
        for _ in 0..10 {
            let (exit, _) = two_signals(Signal::SIGINT, Signal::SIGINT, gap);
            assert_eq!(exit.code, Some(0), "gap {gap:?}: {exit}");
            assert!(
                exit.stdout.contains(&"lingering stopped".to_string()),
                "{exit}"
            );
        }
    }
    // A different shutdown signal within the window is the same request too.
    let (exit, _) = two_signals(Signal::SIGINT, Signal::SIGTERM, Duration::ZERO);
    assert_eq!(exit.code, Some(0), "{exit}");
}

#[test]
fn a_signal_after_the_window_forces_the_exit() {
    let gap = graceful::Signal::WINDOW + Duration::from_millis(50);
    for _ in 0..10 {
        let (exit, after) = two_signals(Signal::SIGTERM, Signal::SIGTERM, gap);
        assert_eq!(exit.code, Some(143), "{exit}");
        assert!(after < Duration::from_secs(2), "{after:?}: {exit}");
        assert!(
            exit.stderr.contains("task `lingering` in scope `main`"),
            "{exit}"
        );
    }
}

#[test]
fn a_storm_of_copies_is_one_request() {
    let mut p = start(scenario("lingering"));
    p.wait_for("ready");
    for _ in 0..50 {
        p.signal(Signal::SIGTERM);
    }
    let exit = p.wait(EXIT);
    assert_eq!(exit.code, Some(0), "{exit}");
}

#[test]
fn a_signal_before_the_supervisor_runs_is_honoured() {
    let (exit, _) = run_until_signal(scenario("slow-start"), &["starting"], Signal::SIGTERM);
    assert_eq!(exit.code, Some(0), "{exit}");
    assert!(
        exit.stderr.contains("SIGTERM received, shutting down"),
        "{exit}"
    );
    assert!(
        exit.stdout.contains(&"polite stopped".to_string()),
        "{exit}"
    );
}

#[test]
fn sigusr1_prints_the_task_dump_and_the_process_goes_on() {
    let mut p = start(scenario("dump"));
    p.wait_for("ready");
    p.signal(Signal::SIGUSR1);
    p.wait_for_stderr("graceful: task dump (SIGUSR1); Running, up");
    // A storm of dump signals prints at most one more dump a second.
    for _ in 0..20 {
        p.signal(Signal::SIGUSR1);
    }
    std::thread::sleep(Duration::from_millis(300));
    p.signal(Signal::SIGTERM);
    let exit = p.wait(EXIT);
    assert_eq!(exit.code, Some(0), "{exit}");
    assert!(
        exit.stderr.matches("task dump (SIGUSR1)").count() <= 2,
        "{exit}"
    );
    for line in [
        "scope `main` (running)",
        "- task `polite`, spawned at tests/fixtures/scenarios.rs:",
        "- hook `close db`, deferred at tests/fixtures/scenarios.rs:",
        "  scope `main/http` (running)",
        "    - task `server`, spawned at",
        "    - in flight:",
        "        GET /slow, 1.20s, from 127.0.0.1:4242",
    ] {
        assert!(exit.stderr.contains(line), "{line:?} missing: {exit}");
    }
    assert!(
        exit.stdout.contains(&"hook: close db".to_string()),
        "{exit}"
    );
}

#[test]
fn sighup_runs_the_reload_hooks_without_stopping() {
    let mut p = start(scenario("reload"));
    p.wait_for("ready");
    p.signal(Signal::SIGHUP);
    p.wait_for("reloaded 1");
    p.signal(Signal::SIGHUP);
    p.wait_for("reloaded 2");
    // A failed reload is said at once, and the process goes on.
    let said = p.wait_for_stderr("reload hook");
    assert!(
        said.contains("reload hook `config` returned an error: bad config 2; the process goes on with what it had"),
        "{said}"
    );
    p.signal(Signal::SIGHUP);
    p.wait_for("reloaded 3");
    p.signal(Signal::SIGTERM);
    let exit = p.wait(EXIT);
    assert_eq!(exit.code, Some(0), "an isolated failure: {exit}");
}

/// Under a service manager (systemd sets `INVOCATION_ID` for every unit),
/// SIGHUP is its reload (`ExecReload=kill -HUP`): a program without a
/// reload hook says so and goes on. (systemd counts a death by SIGHUP as a
/// clean exit: `Restart=on-failure` would not bring it back.)
#[test]
fn sighup_under_a_service_manager_never_ends_the_program() {
    let mut cmd = scenario("lingering");
    cmd.env("INVOCATION_ID", "0123456789abcdef0123456789abcdef")
        .env_remove("NOTIFY_SOCKET");
    let mut p = start(cmd);
    p.wait_for("ready");
    p.signal(Signal::SIGHUP);
    let said = p.wait_for_stderr("SIGHUP");
    assert!(
        said.contains("graceful: SIGHUP ignored: this program has no reload hook (ctx.on_reload)"),
        "{said}"
    );
    p.signal(Signal::SIGTERM);
    let exit = p.wait(EXIT);
    assert_eq!(exit.code, Some(0), "{exit}");
}

/// Without a reload hook, and not under a service manager, the runtime
/// leaves SIGHUP alone: the program keeps
/// the disposition it inherited. That is the default action (it dies),
/// unless this test runs under `nohup` or a harness that ignores SIGHUP:
/// then the program inherits "ignored", and it must keep that too.
#[test]
fn sighup_without_a_reload_hook_keeps_its_default_action() {
    // Not under a service manager, even if this test runs under one.
    let mut cmd = scenario("lingering");
    cmd.env_remove("INVOCATION_ID").env_remove("NOTIFY_SOCKET");
    let mut p = start(cmd);
    p.wait_for("ready");
    p.signal(Signal::SIGHUP);
    if !sighup_ignored_here() {
        let exit = p.wait(EXIT);
        assert_eq!(exit.code, None, "killed by SIGHUP as before: {exit}");
        return;
    }
    std::thread::sleep(Duration::from_millis(300));
    p.signal(Signal::SIGTERM);
    let exit = p.wait(EXIT);
    assert_eq!(
        exit.code,
        Some(0),
        "SIGHUP stays ignored, SIGTERM drains: {exit}"
    );
    assert!(!exit.stderr.contains("SIGHUP"), "{exit}");
}

/// Whether this process ignores SIGHUP (bit 0 of `SigIgn` in
/// `/proc/self/status`), so that a child inherits "ignored".
fn sighup_ignored_here() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & 1 != 0)
}

#[test]
fn sigusr2_upgrades_and_never_ends_the_process_by_itself() {
    // The upgrade's new binary fails at once (the upgrade itself is tested
    // in tests/upgrade.rs): this process says so and goes on.
    let mut cmd = scenario("lingering");
    cmd.env("GRACEFUL_UPGRADE_BINARY", "/bin/false");
    let mut p = start(cmd);
    p.wait_for("ready");
    p.signal(Signal::SIGUSR2);
    let said = p.wait_for_stderr("upgrade failed");
    assert!(
        said.ends_with("before it was ready; this process goes on serving"),
        "{said}"
    );
    p.signal(Signal::SIGTERM);
    let exit = p.wait(EXIT);
    assert_eq!(exit.code, Some(0), "{exit}");
}

#[test]
fn a_write_past_the_file_size_limit_fails_with_efbig() {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(r#"ulimit -f 64 && exec "$0" file-size"#)
        .arg(common::example_path("scenarios"));
    let (exit, _) = run_until_signal(cmd, &["ready"], Signal::SIGTERM);
    assert_eq!(exit.code, Some(0), "{exit}");
    assert!(
        exit.stdout.contains(&"write: FileTooLarge".to_string()),
        "{exit}"
    );
}

/// Every signal is heard on one OS thread: a `current_thread` program runs
/// on at most 2 (its own and that one), a multi-thread one on the threads
/// tokio needs plus at most 1, before and after a handler is added (SIGHUP,
/// for the reload hook that comes once the signals are heard), and after a
/// reload. Signals of different kinds back to back (SIGUSR1, then SIGTERM)
/// are each heard: a dump and the drain.
#[test]
fn signals_are_heard_on_one_thread() {
    // The main thread, which is the current-thread runtime's, or blocks on
    // the multi-thread one (the supervisor runs there, `block_on`'s future,
    // not on a worker); the workers; the signals' thread. Tokio starts a
    // blocking-pool thread only for `spawn_blocking` (or its fs and stdio),
    // which these programs never call.
    for (name, most) in [("current-thread", 1 + 1), ("two-workers", 1 + 2 + 1)] {
        let mut p = start(scenario(name));
        p.wait_for("ready");
        let check = |p: &common::Proc, when| {
            let threads = threads(p.pid());
            assert!(
                threads.len() <= most,
                "{name} {when}: {} threads, at most {most}: {threads:?}",
                threads.len()
            );
            // The name is cut to 15 bytes (`TASK_COMM_LEN`).
            let signals = threads.iter().filter(|t| *t == "graceful signal").count();
            assert!(signals <= 1, "{name} {when}: {threads:?}");
        };
        check(&p, "waiting for a signal");
        p.wait_for("reload hook added");
        check(&p, "with a handler added");
        p.signal(Signal::SIGHUP);
        p.wait_for("reloaded");
        check(&p, "after a reload");
        p.signal(Signal::SIGUSR1);
        p.signal(Signal::SIGTERM);
        let exit = p.wait(EXIT);
        assert_eq!(exit.code, Some(0), "{name}: {exit}");
        // Each is heard, in no set order: both pending at once, the kernel
        // runs their handlers in an order of its own (Linux stacks the
        // frames of the pending signals, so SIGTERM's handler runs first).
        for said in [
            "graceful: task dump (SIGUSR1)",
            "SIGTERM received, shutting down",
        ] {
            assert!(exit.stderr.contains(said), "{name}: {said:?}: {exit}");
        }
        assert!(
            exit.stdout.contains(&"polite stopped".to_string()),
            "{name}: {exit}"
        );
    }
}

/// The names of the OS threads of process `pid` (`/proc/<pid>/task`),
/// as many as `Threads:` in its `/proc/<pid>/status` says.
fn threads(pid: u32) -> Vec<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let count: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Threads: in /proc/<pid>/status");
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|comm| comm.trim_end().to_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), count, "{names:?} against Threads: {count}");
    names
}
