//! systemd's notify protocol against a real Unix datagram socket that the
//! test binds: READY once `main` returned, WATCHDOG pings, STOPPING with an
//! extended stop timeout at the trigger, and a socket that cannot be
//! reached is said without stopping the service.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{EXIT, Signal, scenario, start};

struct Socket {
    path: PathBuf,
    socket: UnixDatagram,
}

impl Socket {
    fn bind(name: &str) -> Socket {
        let path =
            std::env::temp_dir().join(format!("graceful-notify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Socket { path, socket }
    }

    /// The messages received within `within`.
    fn messages(&self, within: Duration) -> Vec<String> {
        let until = Instant::now() + within;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < until {
            if let Ok(n) = self.socket.recv(&mut buf) {
                out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        out
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn ready_watchdog_and_stopping_reach_systemd() {
    let socket = Socket::bind("protocol");
    let mut cmd = scenario("lingering");
    cmd.env("NOTIFY_SOCKET", &socket.path)
        .env("WATCHDOG_USEC", "100000")
        .env("LINGER_MS", "300");
    let mut p = start(cmd);
    p.wait_for("ready");
    let running = socket.messages(Duration::from_millis(500));
    assert_eq!(
        running.first().map(String::as_str),
        Some("READY=1\nSTATUS=running"),
        "{running:?}"
    );
    let pings = running.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(pings >= 4, "a ping every 50 ms: {running:?}");

    p.signal(Signal::SIGTERM);
    let stopping = socket.messages(Duration::from_millis(200));
    let exit = p.wait(EXIT);
    assert_eq!(exit.code, Some(0), "{exit}");
    assert!(
        stopping.contains(&"STATUS=shutting down: SIGTERM received".to_owned()),
        "{stopping:?}"
    );
    let extend = stopping
        .iter()
        .find_map(|m| m.strip_prefix("STOPPING=1\nEXTEND_TIMEOUT_USEC="))
        .unwrap_or_else(|| panic!("no STOPPING: {stopping:?}"));
    let usec: u64 = extend.parse().unwrap();
    // The scenario's deadline is 2 s, plus a second for the exit.
    assert!((2_500_000..=3_000_000).contains(&usec), "{usec}");
}

#[test]
fn an_unreachable_notify_socket_is_said_and_the_service_goes_on() {
    let mut cmd = scenario("lingering");
    cmd.env("NOTIFY_SOCKET", "/nonexistent/graceful.sock")
        .env("LINGER_MS", "0");
    let mut p = start(cmd);
    p.wait_for("ready");
    p.signal(Signal::SIGTERM);
    let exit = p.wait(EXIT);
    assert_eq!(exit.code, Some(0), "{exit}");
    assert!(
        exit.stderr.contains(
            "graceful: NOTIFY_SOCKET=/nonexistent/graceful.sock: No such file or directory"
        ),
        "{exit}"
    );
}

#[test]
fn without_notify_socket_nothing_is_sent() {
    let socket = Socket::bind("unset");
    let mut cmd = scenario("lingering");
    cmd.env_remove("NOTIFY_SOCKET").env("LINGER_MS", "0");
    let mut p = start(cmd);
    p.wait_for("ready");
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait(EXIT).code, Some(0));
    assert!(socket.messages(Duration::from_millis(100)).is_empty());
}
