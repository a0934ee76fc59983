//! systemd's notify protocol, when `NOTIFY_SOCKET` is set: `READY=1` once
//! `main`'s body returned, `STOPPING=1` at the trigger, `STATUS=` lines,
//! `EXTEND_TIMEOUT_USEC=` while the drain runs (so that a `TimeoutStopSec`
//! shorter than our deadline does not kill a drain that is within it), and
//! `WATCHDOG=1` pings from a task of the runtime, every half of
//! `WATCHDOG_USEC`: a wedged runtime stops pinging and the watchdog does
//! its job. Without `NOTIFY_SOCKET`, every call does nothing.
//!
//! The protocol is a datagram per message on a Unix socket: a few lines,
//! lighter than a dependency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::console::console;
use crate::env::NOTIFY_SOCKET;

const WATCHDOG_USEC_ENV: &str = "WATCHDOG_USEC";
const WATCHDOG_PID_ENV: &str = "WATCHDOG_PID";

#[cfg(unix)]
type Socket = Option<Arc<std::os::unix::net::UnixDatagram>>;
#[cfg(not(unix))]
type Socket = Option<Arc<()>>;

/// Where notifications go; `None` when the service manager asked for none.
///
/// Only the service's main process speaks for it. The new process of an
/// upgrade says nothing on `NOTIFY_SOCKET` until the old one has handed the
/// service over (a failing new process would otherwise tell systemd the
/// service is stopping while the old one serves), and the old one says
/// nothing after that (its status would be taken for the new one's). The
/// handshake between the two is the upgrade's (`crate::upgrade`); this
/// notifier only holds whether it is the main process.
pub(crate) struct Notifier {
    socket: Socket,
    /// Whether this process is the service's main process: false in the
    /// new process of an upgrade until it is handed the service, and in
    /// the old one from then on.
    main: AtomicBool,
    /// The watchdog period, if one is asked for this process.
    pub(crate) watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC`. A socket that cannot be
    /// used is said on stderr, naming the variable, and the process goes on
    /// without notifications.
    pub(crate) fn from_env() -> Notifier {
        let watchdog = std::env::var(WATCHDOG_USEC_ENV)
            .ok()
            .filter(|_| {
                std::env::var(WATCHDOG_PID_ENV)
                    .map_or(true, |pid| pid.trim() == std::process::id().to_string())
            })
            .and_then(|usec| usec.trim().parse::<u64>().ok())
            .filter(|usec| *usec > 0)
            .map(Duration::from_micros);
        #[cfg(unix)]
        {
            let socket = std::env::var_os(NOTIFY_SOCKET).and_then(|path| {
                platform::connect(&path)
                    .map(Arc::new)
                    .map_err(|e| {
                        console(format_args!(
                            "graceful: {NOTIFY_SOCKET}={}: {e}; continuing without systemd notifications",
                            path.to_string_lossy()
                        ))
                    })
                    .ok()
            });
            let watchdog = watchdog.filter(|_| socket.is_some());
            Notifier {
                socket,
                main: AtomicBool::new(true),
                watchdog,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = watchdog;
            Notifier {
                socket: None,
                main: AtomicBool::new(true),
                watchdog: None,
            }
        }
    }

    /// A notifier that sends nothing, whatever the environment says: a test
    /// must not tell the service manager of the process running it anything.
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn off() -> Notifier {
        Notifier {
            socket: None,
            main: AtomicBool::new(true),
            watchdog: None,
        }
    }

    /// Sends one message (`KEY=value` lines), if this process is the
    /// service's main process. A failure is a `tracing` warning (a socket
    /// that cannot be reached at all was said on stderr at start); the
    /// process goes on.
    pub(crate) fn send(&self, message: &str) {
        if self.is_main() {
            send(&self.socket, message);
        }
    }

    /// Says the service is ready, if this process is the service's main
    /// process (the new process of an upgrade says it once it has the
    /// service: [`take_over`](Self::take_over)).
    pub(crate) fn ready(&self) {
        self.send("READY=1\nSTATUS=running");
    }

    /// The new process of an upgrade: it says nothing until the old one
    /// handed the service over.
    #[cfg(all(unix, feature = "upgrade"))]
    pub(crate) fn wait_for_hand_over(&self) {
        self.main.store(false, Ordering::Release);
    }

    /// The new process of an upgrade was handed the service: it speaks for
    /// it from now on, and says it is ready, with a watchdog ping at once
    /// (the old process pings no more, and this one's next ping may be half
    /// a period away).
    #[cfg(all(unix, feature = "upgrade"))]
    pub(crate) fn take_over(&self) {
        self.main.store(true, Ordering::Release);
        send(&self.socket, "READY=1\nSTATUS=running\nWATCHDOG=1");
    }

    /// The old process of an upgrade hands the service over to `pid`
    /// (`MAINPID=`) and says nothing more.
    #[cfg(all(unix, feature = "upgrade"))]
    pub(crate) fn hand_over(&self, pid: u32) {
        self.send(&format!("MAINPID={pid}"));
        self.main.store(false, Ordering::Release);
    }

    /// Whether this process is the service's main process: not the new
    /// process of an upgrade before it is handed the service, nor the old
    /// one after.
    pub(crate) fn is_main(&self) -> bool {
        self.main.load(Ordering::Acquire)
    }

    /// Whether notifications are sent at all.
    pub(crate) fn is_on(&self) -> bool {
        self.socket.is_some()
    }
}

/// Sends `message` on `socket`, if any.
fn send(socket: &Socket, message: &str) {
    #[cfg(unix)]
    if let Some(socket) = socket
        && let Err(e) = socket.send(message.as_bytes())
    {
        tracing::warn!(error = %e, message, "systemd notification failed");
    }
    #[cfg(not(unix))]
    let _ = (socket, message);
}

/// A Unix socket address written as for `NOTIFY_SOCKET`: a file path, or
/// (Linux) an abstract name written `@name`.
#[cfg(all(unix, feature = "upgrade"))]
pub(crate) use platform::address as socket_address;

#[cfg(unix)]
mod platform {
    use std::ffi::OsStr;
    use std::os::unix::net::{SocketAddr, UnixDatagram};

    /// A datagram socket connected to `path`, a file path or (Linux) an
    /// abstract name written `@name`: a socket nobody listens on is found
    /// now, not at the first message.
    pub(super) fn connect(path: &OsStr) -> std::io::Result<UnixDatagram> {
        let socket = UnixDatagram::unbound()?;
        socket.connect_addr(&address(path)?)?;
        Ok(socket)
    }

    /// `path`: a file path, or (Linux) an abstract name written `@name`.
    pub(crate) fn address(path: &OsStr) -> std::io::Result<SocketAddr> {
        let bytes = path.as_encoded_bytes();
        let addr = match bytes.strip_prefix(b"@") {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name)?
            }
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            Some(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "abstract socket names exist on Linux only",
                ));
            }
            None => SocketAddr::from_pathname(path)?,
        };
        Ok(addr)
    }
}
