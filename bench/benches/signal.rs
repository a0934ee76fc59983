//! Wall time from SIGTERM to process exit for an idle program with 10 000
//! tasks, graceful against the same program written by hand and with
//! tokio-graceful-shutdown. Starting the
//! program and waiting for its `ready` line is outside the timed region.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn sigterm_to_exit(program: &str) -> Duration {
    let mut child = Command::new(program)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let start = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    let took = start.elapsed();
    assert!(status.success(), "{program} exited with {status}");
    took
}

fn signal_to_exit(c: &mut Criterion) {
    let mut g = c.benchmark_group("signal_exit");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for (name, program) in [
        ("by_hand", env!("CARGO_BIN_EXE_idle_by_hand")),
        ("by_hand_shared", env!("CARGO_BIN_EXE_idle_by_hand_shared")),
        ("graceful", env!("CARGO_BIN_EXE_idle_graceful")),
        ("tokio_graceful_shutdown", env!("CARGO_BIN_EXE_idle_tgs")),
    ] {
        g.bench_function(BenchmarkId::new(name, 10_000), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| sigterm_to_exit(program)).sum())
        });
    }
    g.finish();
}

/// The same, in paired rounds (see `graceful_bench::paired`): the floors
/// and graceful alternated, so that all see the same machine load.
fn signal_to_exit_paired(_: &mut Criterion) {
    let run = |program: &'static str| move || sigterm_to_exit(program);
    let (a, b, c) = (
        run(env!("CARGO_BIN_EXE_idle_by_hand")),
        run(env!("CARGO_BIN_EXE_idle_by_hand_shared")),
        run(env!("CARGO_BIN_EXE_idle_graceful")),
    );
    let json = graceful_bench::paired::run(
        "SIGTERM to exit, 10 000 idle tasks",
        45,
        1.0,
        &[("by_hand", &a), ("by_hand_shared", &b), ("graceful", &c)],
    );
    graceful_bench::paired::write("signal", &json);
}

criterion_group!(benches, signal_to_exit, signal_to_exit_paired);
criterion_main!(benches);
