//! Helpers for process tests: start a program built by cargo, read its
//! output as it comes, send it real signals, wait for its exit.
#![allow(dead_code)]

use std::borrow::BorrowMut;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

pub use nix::sys::signal::Signal;

/// Generous bound for anything that should take well under a second.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Generous bound for a graceful exit after a signal.
pub const EXIT: Duration = Duration::from_secs(15);

/// Starts `cmd`, waits for stdout lines containing each of `lines` in
/// order, sends `sig`, and returns the exit (within [`EXIT`]) and how long
/// it took after the signal.
pub fn run_until_signal(
    cmd: impl BorrowMut<Command>,
    lines: &[&str],
    sig: Signal,
) -> (Exit, Duration) {
    let mut p = start(cmd);
    for line in lines {
        p.wait_for(line);
    }
    let sent = Instant::now();
    p.signal(sig);
    let exit = p.wait(EXIT);
    (exit, sent.elapsed())
}

/// The number at the end of the stdout line containing `needle`.
pub fn count(exit: &Exit, needle: &str) -> u64 {
    let line = &exit.stdout[exit.line(needle)];
    line.split_whitespace()
        .filter_map(|w| w.parse().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no number in {line:?}\n{exit}"))
}

/// The path of an example binary that `cargo test` built beside this test.
pub fn example_path(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built; run the tests through `cargo test`",
        path.display()
    );
    path
}

/// A command for an example, with a quiet, predictable environment.
pub fn example(name: &str) -> Command {
    let mut cmd = Command::new(example_path(name));
    cmd.env_remove("GRACEFUL_TIMEOUT")
        .env_remove("GRACEFUL_LAME_DUCK")
        .env_remove("RUST_LOG");
    cmd
}

/// The fixture program `tests/fixtures/scenarios.rs`, running scenario `name`.
pub fn scenario(name: &str) -> Command {
    let mut cmd = example("scenarios");
    cmd.arg(name);
    cmd
}

/// A program under test.
pub struct Proc {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    stdout: Vec<String>,
    stderr: Vec<String>,
    started: Instant,
}

/// How a program ended.
#[derive(Debug)]
pub struct Exit {
    /// The exit code; `None` if a signal killed it.
    pub code: Option<i32>,
    /// Every stdout line.
    pub stdout: Vec<String>,
    /// All of stderr.
    pub stderr: String,
    /// From the start of the program to its exit.
    pub elapsed: Duration,
}

impl Exit {
    /// The index of the first stdout line containing `needle`; panics with the output otherwise.
    pub fn line(&self, needle: &str) -> usize {
        self.stdout
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no stdout line contains {needle:?}\n{self}"))
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "exit code: {:?} after {:?}", self.code, self.elapsed)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.join("\n"))?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

/// Reads `from` line by line into a channel, on its own thread.
fn lines(from: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Starts `cmd` with stdout and stderr captured.
pub fn start(mut cmd: impl BorrowMut<Command>) -> Proc {
    let mut child = cmd
        .borrow_mut()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start program");
    let out = lines(child.stdout.take().unwrap());
    let err = lines(child.stderr.take().unwrap());
    Proc {
        child,
        out,
        err,
        stdout: Vec::new(),
        stderr: Vec::new(),
        started: Instant::now(),
    }
}

impl Proc {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a stdout line contains `needle` and returns it; panics
    /// (killing the program and showing its output) after `PATIENCE`.
    pub fn wait_for(&mut self, needle: &str) -> String {
        self.wait_for_line(false, needle)
    }

    /// Like [`wait_for`](Self::wait_for), on stderr.
    pub fn wait_for_stderr(&mut self, needle: &str) -> String {
        self.wait_for_line(true, needle)
    }

    fn wait_for_line(&mut self, stderr: bool, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (rx, seen) = if stderr {
                (&self.err, &mut self.stderr)
            } else {
                (&self.out, &mut self.stdout)
            };
            match rx.recv_timeout(left) {
                Ok(line) => {
                    seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let exit = self.finish();
                    let why = if e == RecvTimeoutError::Timeout {
                        "timed out"
                    } else {
                        "stream closed"
                    };
                    panic!("{why} waiting for a line containing {needle:?}\n{exit}");
                }
            }
        }
    }

    /// Sends a real signal to the program.
    pub fn signal(&self, sig: Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, sig).expect("send signal");
    }

    /// Waits for the exit, killing the program if it takes longer than `limit`
    /// (then panics with its output).
    pub fn wait(mut self, limit: Duration) -> Exit {
        let deadline = Instant::now() + limit;
        loop {
            if self.child.try_wait().expect("wait").is_some() {
                return self.finish();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let exit = self.finish();
                panic!("program did not exit within {limit:?}\n{exit}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The output, once every process writing it closed it, of a program
    /// whose exit the test waited for itself (`waitpid`).
    pub fn output(mut self) -> Exit {
        self.collect(None)
    }

    fn finish(&mut self) -> Exit {
        let status = self.child.wait().expect("wait");
        self.collect(status.code())
    }

    fn collect(&mut self, code: Option<i32>) -> Exit {
        let elapsed = self.started.elapsed();
        // The reader threads end at EOF; collect what they still hold.
        while let Ok(line) = self.out.recv_timeout(Duration::from_secs(5)) {
            self.stdout.push(line);
        }
        while let Ok(line) = self.err.recv_timeout(Duration::from_secs(5)) {
            self.stderr.push(line);
        }
        let mut stderr = std::mem::take(&mut self.stderr).join("\n");
        if !stderr.is_empty() {
            stderr.push('\n');
        }
        Exit {
            code,
            stdout: std::mem::take(&mut self.stdout),
            stderr,
            elapsed,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
