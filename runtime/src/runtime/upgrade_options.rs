//! The builder's options of the zero-downtime upgrade (Unix, feature
//! `upgrade`); the upgrade itself is `crate::upgrade`'s.

use std::path::PathBuf;
use std::time::Duration;

use super::Runtime;
use crate::signal::Signal;

impl Runtime {
    /// The signal that upgrades the program without dropping a connection
    /// (`SIGUSR2` by default; `None`: no upgrade, the signal is ignored).
    /// The process starts the new binary (see [`upgrade_binary`]) with its
    /// listening sockets (those this runtime [offered](crate::sockets::offer),
    /// as `graceful::http::serve` does), waits until the new process is ready
    /// (its `main` returned), then drains with the reason
    /// [`Reason::Upgraded`](crate::Reason::Upgraded) and exits. If the new process cannot start,
    /// ends, or is not ready within the [`upgrade_timeout`], this one says
    /// why and goes on serving.
    ///
    /// [`upgrade_binary`]: Self::upgrade_binary
    /// [`upgrade_timeout`]: Self::upgrade_timeout
    ///
    /// ```no_run
    /// use graceful::{Runtime, Signal};
    ///
    /// // kill -HUP <pid> upgrades (when there are no reload hooks).
    /// let runtime = Runtime::new().upgrade_signal(Some(Signal::Hangup));
    /// ```
    #[cfg_attr(docsrs, doc(cfg(all(unix, feature = "upgrade"))))]
    pub fn upgrade_signal(mut self, signal: Option<Signal>) -> Self {
        self.upgrade.signal = signal;
        self
    }

    /// The binary an upgrade starts: by default the path this program was
    /// started from, read at start (a deploy that replaced the file is
    /// what an upgrade is for; with a symbolic link to the current release,
    /// name the link here: the path read at start is the link's target).
    /// `GRACEFUL_UPGRADE_BINARY` overrides it. The new process gets the
    /// same arguments and environment, plus `LISTEN_FDS`,
    /// `LISTEN_FDNAMES` and `LISTEN_PID` (its own id) for the sockets.
    ///
    /// ```no_run
    /// let runtime = graceful::Runtime::new().upgrade_binary("/opt/app/current/app");
    /// ```
    #[cfg_attr(docsrs, doc(cfg(all(unix, feature = "upgrade"))))]
    pub fn upgrade_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.upgrade.binary = Some(path.into());
        self
    }

    /// How long the new process of an upgrade has to become ready (30 s by
    /// default; `GRACEFUL_UPGRADE_TIMEOUT` overrides it).
    ///
    /// ```
    /// use std::time::Duration;
    /// let runtime = graceful::Runtime::new().upgrade_timeout(Duration::from_secs(10));
    /// ```
    #[cfg_attr(docsrs, doc(cfg(all(unix, feature = "upgrade"))))]
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.upgrade.timeout = timeout;
        self
    }
}
