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

use std::time::Duration;

use crate::report::console;

/// The environment variable that names systemd's notification socket.
///
/// ```
/// // Set by systemd for a unit with `Type=notify`; the runtime then sends
/// // READY=1, STOPPING=1, STATUS= and WATCHDOG=1 to it.
/// assert_eq!(graceful::NOTIFY_SOCKET_ENV, "NOTIFY_SOCKET");
/// ```
pub const NOTIFY_SOCKET_ENV: &str = "NOTIFY_SOCKET";
const WATCHDOG_USEC_ENV: &str = "WATCHDOG_USEC";
/// Where a new process started by an upgrade says it is ready: a Unix
/// datagram socket of the old process.
pub(crate) const UPGRADE_NOTIFY_ENV: &str = "GRACEFUL_UPGRADE_NOTIFY";
const WATCHDOG_PID_ENV: &str = "WATCHDOG_PID";

/// Where notifications go; `None` when the service manager asked for none.
pub(crate) struct Notifier {
    #[cfg(unix)]
    socket: Option<std::os::unix::net::UnixDatagram>,
    /// The old process of an upgrade, waiting for this one to be ready.
    #[cfg(unix)]
    parent: Option<std::os::unix::net::UnixDatagram>,
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
            let socket = std::env::var_os(NOTIFY_SOCKET_ENV).and_then(|path| {
                platform::connect(&path)
                    .map_err(|e| {
                        console(format_args!(
                            "graceful: {NOTIFY_SOCKET_ENV}={}: {e}; continuing without systemd notifications",
                            path.to_string_lossy()
                        ))
                    })
                    .ok()
            });
            let watchdog = watchdog.filter(|_| socket.is_some());
            let parent =
                std::env::var_os(UPGRADE_NOTIFY_ENV).and_then(|path| platform::connect(&path).ok());
            Notifier {
                socket,
                parent,
                watchdog,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = watchdog;
            Notifier { watchdog: None }
        }
    }

    /// A notifier that sends nothing, whatever the environment says: a test
    /// must not tell the service manager of the process running it anything.
    #[cfg(feature = "test-util")]
    pub(crate) fn off() -> Notifier {
        Notifier {
            #[cfg(unix)]
            socket: None,
            #[cfg(unix)]
            parent: None,
            watchdog: None,
        }
    }

    /// Sends one message (`KEY=value` lines). A failure is a `tracing`
    /// warning (a socket that cannot be reached at all was said on stderr
    /// at start); the process goes on.
    pub(crate) fn send(&self, message: &str) {
        #[cfg(unix)]
        if let Some(socket) = &self.socket
            && let Err(e) = socket.send(message.as_bytes())
        {
            tracing::warn!(error = %e, message, "systemd notification failed");
        }
        #[cfg(not(unix))]
        let _ = message;
    }

    /// Says the service is ready: to systemd, and to the old process of an
    /// upgrade, if this one was started by one.
    pub(crate) fn ready(&self) {
        self.send("READY=1\nSTATUS=running");
        #[cfg(unix)]
        if let Some(parent) = &self.parent {
            let _ = parent.send(b"READY=1");
        }
    }

    /// Whether notifications are sent at all.
    pub(crate) fn is_on(&self) -> bool {
        #[cfg(unix)]
        return self.socket.is_some();
        #[cfg(not(unix))]
        false
    }
}

#[cfg(unix)]
mod platform {
    use std::ffi::OsStr;
    use std::os::unix::net::{SocketAddr, UnixDatagram};

    /// A datagram socket connected to `path`, a file path or (Linux) an
    /// abstract name written `@name`: a socket nobody listens on is found
    /// now, not at the first message.
    pub(super) fn connect(path: &OsStr) -> std::io::Result<UnixDatagram> {
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
        let socket = UnixDatagram::unbound()?;
        socket.connect_addr(&addr)?;
        Ok(socket)
    }
}
