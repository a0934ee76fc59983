//! Socket activation and the zero-downtime upgrade, with real processes,
//! real signals and real sockets on 127.0.0.1: a socket the test creates
//! and hands down as fd 3; upgrades under steady load (no connection
//! refused, no request failed, every old process exits 0); upgrades that
//! fail (the new binary fails, hangs, or does not exist) leave the old
//! process serving; systemd follows the new process (`MAINPID=`).
//!
//! The test process is a child subreaper, so that it can wait for every
//! generation of the fixture (each one the child of the one before) and
//! see its exit code.

#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use command_fds::{CommandFdExt, FdMapping};
use common::{PATIENCE, Proc, Signal, example, start};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// A generation of the fixture: its pid and address, from its first line.
fn listening(line: &str) -> (u32, SocketAddr) {
    // "listening on http://127.0.0.1:41234 pid 4242"
    let mut words = line.split_whitespace();
    let addr = words.nth(2).unwrap().trim_start_matches("http://");
    let pid = words.nth(1).unwrap();
    (pid.parse().unwrap(), addr.parse().unwrap())
}

fn signal(pid: u32, sig: Signal) {
    nix::sys::signal::kill(Pid::from_raw(pid as i32), sig).expect("send signal");
}

/// The exit code of `pid`, a child or (as we are a subreaper) a descendant.
fn exit_code(pid: u32) -> Option<i32> {
    match waitpid(Pid::from_raw(pid as i32), None).expect("waitpid") {
        WaitStatus::Exited(_, code) => Some(code),
        _ => None,
    }
}

/// Waits until `pid` (reaped by its own parent) no longer exists.
fn gone(pid: u32) {
    let deadline = Instant::now() + PATIENCE;
    while nix::sys::signal::kill(Pid::from_raw(pid as i32), None) != Err(nix::errno::Errno::ESRCH) {
        assert!(Instant::now() < deadline, "process {pid} still runs");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills what is left of the generations if a test fails half-way.
struct Generations(Vec<u32>);

impl Drop for Generations {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = nix::sys::signal::kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
        }
    }
}

/// One `GET` on `tcp`: the answering process's pid and whether the server
/// closes the connection after it.
fn get(tcp: &mut BufReader<TcpStream>, path: &str) -> std::io::Result<(u32, bool)> {
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
    tcp.get_mut().write_all(request.as_bytes())?;
    let mut status = String::new();
    tcp.read_line(&mut status)?;
    if !status.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!("status line {status:?}")));
    }
    let (mut length, mut closes) = (0, false);
    loop {
        let mut line = String::new();
        tcp.read_line(&mut line)?;
        let line = line.trim_end().to_ascii_lowercase();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("content-length:") {
            length = n.trim().parse().unwrap_or(0);
        }
        closes |= line == "connection: close";
    }
    let mut body = vec![0; length];
    tcp.read_exact(&mut body)?;
    let pid = String::from_utf8_lossy(&body).trim().parse();
    Ok((pid.map_err(std::io::Error::other)?, closes))
}

/// Clients sending requests until stopped: half of them keep their
/// connection alive (reconnecting when the server says `Connection:
/// close`), half open one per request. Every error counts as a failure.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    pids: Arc<Mutex<Vec<u32>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(addr: SocketAddr, clients: usize) -> Load {
        let load = Load {
            stop: Arc::default(),
            ok: Arc::default(),
            failures: Arc::default(),
            pids: Arc::default(),
            threads: Vec::new(),
        };
        let threads = (0..clients)
            .map(|n| {
                let (stop, ok) = (load.stop.clone(), load.ok.clone());
                let (failures, pids) = (load.failures.clone(), load.pids.clone());
                std::thread::spawn(move || {
                    let keep_alive = n % 2 == 0;
                    let path = if n % 4 == 0 { "/slow" } else { "/" };
                    let mut tcp = None;
                    while !stop.load(Ordering::Relaxed) {
                        let result = (|| {
                            if tcp.is_none() {
                                tcp = Some(BufReader::new(TcpStream::connect(addr)?));
                            }
                            let answer = get(tcp.as_mut().unwrap(), path);
                            if !keep_alive || answer.as_ref().map_or(true, |(_, closes)| *closes) {
                                tcp = None;
                            }
                            answer
                        })();
                        match result {
                            Ok((pid, _)) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                                let mut pids = pids.lock().unwrap();
                                if pids.last() != Some(&pid) && !pids.contains(&pid) {
                                    pids.push(pid);
                                }
                            }
                            Err(e) => {
                                failures.lock().unwrap().push(format!("client {n}: {e}"));
                                tcp = None;
                            }
                        }
                    }
                })
            })
            .collect();
        Load { threads, ..load }
    }

    /// Stops the clients: requests answered, failures, pids seen in order.
    fn finish(self) -> (u64, Vec<String>, Vec<u32>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        let failures = self.failures.lock().unwrap().clone();
        let pids = self.pids.lock().unwrap().clone();
        (self.ok.load(Ordering::Relaxed), failures, pids)
    }
}

/// Upgrades under steady load from 8 clients: each new process takes over
/// the same socket, each old one drains and exits 0, and no connection is
/// refused, no request fails. (The note of issue #14 has the figures of a
/// longer run: 20 upgrades, one every 2 s.)
#[test]
fn upgrades_under_load_refuse_nothing_and_fail_nothing() {
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let upgrades: usize = std::env::var("UPGRADES").map_or(5, |n| n.parse().unwrap());
    let every = Duration::from_millis(
        std::env::var("UPGRADE_EVERY_MS").map_or(300, |n| n.parse().unwrap()),
    );
    let mut p = start(example("upgrade_fixture"));
    let (mut pid, addr) = listening(&p.wait_for("listening on"));
    let mut generations = Generations(vec![pid]);
    let load = Load::start(addr, 8);
    let began = Instant::now();
    for _ in 0..upgrades {
        std::thread::sleep(every);
        signal(pid, Signal::SIGUSR2);
        let (new, same) = listening(&p.wait_for("listening on"));
        assert_eq!(same, addr, "the new process serves the same socket");
        generations.0.push(new);
        let code = exit_code(pid);
        assert_eq!(code, Some(0), "old process {pid}");
        pid = new;
    }
    std::thread::sleep(every);
    let (ok, failures, pids) = load.finish();
    let took = began.elapsed();
    signal(pid, Signal::SIGTERM);
    assert_eq!(exit_code(pid), Some(0));
    generations.0.clear();
    let exit = p.output();
    eprintln!(
        "{upgrades} upgrades in {took:?}: {ok} requests answered, {} failed; {} processes answered",
        failures.len(),
        pids.len()
    );
    assert!(failures.is_empty(), "{failures:#?}\n{exit}");
    assert_eq!(
        pids.len(),
        upgrades + 1,
        "every generation answered: {pids:?}"
    );
    assert_eq!(
        exit.stderr.matches("graceful: upgraded: process").count(),
        upgrades,
        "{exit}"
    );
}

/// A new binary that fails, one that is never ready, one that does not
/// exist: the old process says why and goes on serving; then an upgrade
/// that works.
#[test]
fn failed_upgrades_leave_the_old_process_serving() {
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let dir = std::env::temp_dir().join(format!("graceful-upgrade-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (fail, hang) = (dir.join("fail"), dir.join("hang"));
    let mut cmd = example("upgrade_fixture");
    cmd.env("FAIL_IF_EXISTS", &fail)
        .env("HANG_IF_EXISTS", &hang)
        // Long enough for the failing copy to start and exit on a loaded
        // machine (1 s was not, once, with a debug build); the hung copy
        // is waited for this long.
        .env("GRACEFUL_UPGRADE_TIMEOUT", "5s");
    let mut p = start(cmd);
    let (pid, addr) = listening(&p.wait_for("listening on"));
    p.wait_for("ready pid"); // past its own look at the files
    let mut generations = Generations(vec![pid]);
    let answered_by_old = |p: &Proc| {
        let mut tcp = BufReader::new(TcpStream::connect(addr).unwrap());
        assert_eq!(get(&mut tcp, "/").unwrap().0, pid, "{}", p.pid());
    };

    std::fs::write(&fail, "").unwrap();
    signal(pid, Signal::SIGUSR2);
    let (failed, _) = listening(&p.wait_for("listening on"));
    generations.0.push(failed); // its parent, the old process, waits for it
    let said = p.wait_for_stderr("upgrade failed");
    assert!(
        said.contains(&format!("the new process (pid {failed}) ended (exit status: 1) before it was ready; this process goes on serving")),
        "{said}"
    );
    answered_by_old(&p);

    std::fs::remove_file(&fail).unwrap();
    std::fs::write(&hang, "").unwrap();
    signal(pid, Signal::SIGUSR2);
    let (hung, _) = listening(&p.wait_for("listening on"));
    generations.0.push(hung);
    let said = p.wait_for_stderr("upgrade failed");
    assert!(
        said.contains(&format!(
            "the new process (pid {hung}) was not ready within 5.00s"
        )),
        "{said}"
    );
    assert!(
        said.ends_with("sent it SIGTERM; this process goes on serving"),
        "{said}"
    );
    // The hung process drains on that SIGTERM and may answer, with
    // `Connection: close`, a connection it takes from the socket both share
    // meanwhile: nothing is lost, but only once it is gone is every answer
    // the old process's.
    gone(hung);
    answered_by_old(&p);

    std::fs::remove_file(&hang).unwrap();
    signal(pid, Signal::SIGUSR2);
    let (new, _) = listening(&p.wait_for("listening on"));
    generations.0.push(new);
    assert_eq!(exit_code(pid), Some(0));
    let mut tcp = BufReader::new(TcpStream::connect(addr).unwrap());
    assert_eq!(get(&mut tcp, "/").unwrap().0, new);
    signal(new, Signal::SIGTERM);
    assert_eq!(exit_code(new), Some(0));
    generations.0.clear();
    let _ = std::fs::remove_dir_all(&dir);

    // A binary that does not exist.
    let mut cmd = example("upgrade_fixture");
    cmd.env("GRACEFUL_UPGRADE_BINARY", "/nonexistent/app");
    let mut p = start(cmd);
    let (pid, addr) = listening(&p.wait_for("listening on"));
    signal(pid, Signal::SIGUSR2);
    let said = p.wait_for_stderr("upgrade failed");
    assert!(
        said.contains("cannot start /nonexistent/app: No such file or directory"),
        "{said}"
    );
    let mut tcp = BufReader::new(TcpStream::connect(addr).unwrap());
    assert_eq!(get(&mut tcp, "/").unwrap().0, pid);
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait(PATIENCE).code, Some(0));
}

/// A listening socket the test creates and hands down as fd 3 (systemd's
/// socket activation): a request sent before the program even started is
/// answered by it, on that socket.
#[test]
fn a_socket_handed_down_as_fd_3_is_served() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut early = BufReader::new(TcpStream::connect(addr).unwrap());
    early
        .get_mut()
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    // systemd's protocol: the sockets are `LISTEN_PID`'s. A launcher shell
    // names itself, then `exec`s the program, which keeps its pid.
    let fixture = example("upgrade_fixture");
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(r#"LISTEN_PID=$$; export LISTEN_PID; exec "$0""#)
        .arg(fixture.get_program());
    for (var, value) in fixture.get_envs() {
        match value {
            Some(value) => cmd.env(var, value),
            None => cmd.env_remove(var),
        };
    }
    // Binding this address again would fail: the socket must be taken.
    cmd.env("ADDR", addr.to_string()).env("LISTEN_FDS", "1");
    cmd.fd_mappings(vec![FdMapping {
        parent_fd: OwnedFd::from(listener),
        child_fd: 3,
    }])
    .unwrap();
    let mut p = start(cmd);
    let (pid, served) = listening(&p.wait_for("listening on"));
    assert_eq!(served, addr);
    let mut status = String::new();
    early.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut tcp = BufReader::new(TcpStream::connect(addr).unwrap());
    assert_eq!(get(&mut tcp, "/").unwrap().0, pid);
    p.signal(Signal::SIGTERM);
    let exit = p.wait(PATIENCE);
    assert_eq!(exit.code, Some(0), "{exit}");
    assert!(TcpStream::connect(addr).is_err(), "closed with the process");
}

/// A malformed `LISTEN_FDS` stops the start, naming it; sockets for
/// another process (`LISTEN_PID`) are left alone.
#[test]
fn listen_fds_for_someone_else_or_malformed() {
    let mut cmd = example("upgrade_fixture");
    cmd.env("LISTEN_FDS", "two");
    let exit = start(cmd).wait(PATIENCE);
    assert_eq!(exit.code, Some(1), "{exit}");
    assert!(
        exit.stderr
            .contains("invalid LISTEN_FDS=two: expected the number of sockets handed down"),
        "{exit}"
    );

    let mut cmd = example("upgrade_fixture");
    cmd.env("LISTEN_FDS", "1").env("LISTEN_PID", "1");
    let mut p = start(cmd);
    let (pid, addr) = listening(&p.wait_for("listening on"));
    let mut tcp = BufReader::new(TcpStream::connect(addr).unwrap());
    assert_eq!(get(&mut tcp, "/").unwrap().0, pid);
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait(PATIENCE).code, Some(0));
}

/// A datagram socket standing in for systemd's notify socket, and the
/// messages it receives.
struct Notifications {
    socket: UnixDatagram,
    path: PathBuf,
}

impl Notifications {
    fn bind(name: &str) -> Notifications {
        let path = std::env::temp_dir().join(format!("graceful-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Notifications { socket, path }
    }

    /// The messages received until `until` holds of them, or `limit` passed.
    fn until(&self, until: &dyn Fn(&[String]) -> bool, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut out = Vec::new();
        let mut buf = [0; 4096];
        while !until(&out) && Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        out
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The notify protocol of an upgrade, against a socket the test binds (the
/// check against a real systemd is `deploy/systemd-check`): the old process
/// hands the unit over (`MAINPID=`) once the new one is ready and then says
/// nothing more (no STOPPING: the service goes on; no status: it would be
/// taken for the new one's); only then does the new one say READY, and
/// STOPPING when it stops.
#[test]
fn systemd_follows_the_new_process() {
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let notifications = Notifications::bind("upgrade-notify");
    let mut cmd = example("upgrade_fixture");
    cmd.env("NOTIFY_SOCKET", &notifications.path);
    let mut p = start(cmd);
    let (old, _) = listening(&p.wait_for("listening on"));
    let mut generations = Generations(vec![old]);
    let ready = notifications.until(&|m| m.iter().any(|m| m.starts_with("READY=1")), PATIENCE);
    assert!(ready.iter().any(|m| m.starts_with("READY=1")), "{ready:?}");
    signal(old, Signal::SIGUSR2);
    let (new, _) = listening(&p.wait_for("listening on"));
    generations.0.push(new);
    assert_eq!(exit_code(old), Some(0));
    let mainpid = format!("MAINPID={new}");
    let handover = notifications.until(&|m| m.contains(&mainpid), PATIENCE);
    let at = handover.iter().position(|m| *m == mainpid);
    assert!(at.is_some(), "{handover:?}");
    assert!(
        !handover[..at.unwrap()]
            .iter()
            .any(|m| m.contains("READY=1")),
        "the new process said nothing before it had the unit: {handover:?}"
    );
    // Whatever either said once the unit was handed over.
    let late = notifications.until(&|_| false, Duration::from_millis(500));
    assert!(
        late.first()
            .is_some_and(|m| m.starts_with("READY=1\nSTATUS=running")),
        "the new process says READY once it has the unit: {late:?}"
    );
    assert!(
        !late
            .iter()
            .chain(&handover)
            .any(|m| m.contains("STOPPING=1") || m.contains("shutting down")),
        "{handover:?} {late:?}"
    );
    signal(new, Signal::SIGTERM);
    let stopping = notifications.until(&|m| m.iter().any(|m| m.contains("STOPPING=1")), PATIENCE);
    assert!(
        stopping.iter().any(|m| m.contains("STOPPING=1")),
        "{stopping:?}"
    );
    assert_eq!(exit_code(new), Some(0));
    generations.0.clear();
}

/// systemd's `WATCHDOG_PID` names the process that must ping the watchdog:
/// the old one. The new process of an upgrade is started without it, so it
/// pings (the unit's `NotifyAccess=all` lets it), and the watchdog does not
/// kill the service once the old one is gone. Here `WATCHDOG_PID` names
/// neither process, so only a process started without it pings.
#[test]
fn an_upgraded_process_pings_the_watchdog() {
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let notifications = Notifications::bind("upgrade-watchdog");
    let mut cmd = example("upgrade_fixture");
    cmd.env("NOTIFY_SOCKET", &notifications.path)
        .env("WATCHDOG_USEC", "100000")
        .env("WATCHDOG_PID", "1");
    let mut p = start(cmd);
    let (old, _) = listening(&p.wait_for("listening on"));
    let mut generations = Generations(vec![old]);
    let ready = |m: &[String]| m.iter().any(|m| m.starts_with("READY=1"));
    let before = notifications.until(&ready, PATIENCE);
    let before = [
        before,
        notifications.until(&|_| false, Duration::from_millis(400)),
    ]
    .concat();
    assert!(ready(&before), "{before:?}");
    assert!(
        !before.iter().any(|m| m.contains("WATCHDOG=1")),
        "WATCHDOG_PID names another process: {before:?}"
    );
    signal(old, Signal::SIGUSR2);
    let (new, _) = listening(&p.wait_for("listening on"));
    generations.0.push(new);
    assert_eq!(exit_code(old), Some(0));
    let pings = |m: &[String]| m.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2;
    let after = notifications.until(&pings, PATIENCE);
    assert!(pings(&after), "the new process pings: {after:?}");
    signal(new, Signal::SIGTERM);
    assert_eq!(exit_code(new), Some(0));
    generations.0.clear();
}
