//! Zero-downtime binary upgrade, as nginx's and tableflip's: on the
//! upgrade signal the process starts the new binary with its listening
//! sockets handed down (systemd's `LISTEN_FDS` protocol), waits until the
//! new process says it is ready (the point at which it would send systemd
//! `READY=1`: its `main` returned), then stops accepting and drains as for
//! any shutdown, with the reason [`Reason::Upgraded`] and no lame duck.
//!
//! While both run, both accept from the same sockets (the kernel queues
//! connections once, for whichever accepts first); once the old process
//! closes its listeners, only the new one accepts. No connection is
//! refused at any moment: the sockets never close.
//!
//! If the new process cannot start, exits, or is not ready within the
//! upgrade timeout (it is then sent `SIGTERM`), the old process says why
//! on stderr and goes on serving.
//!
//! Under systemd, the old process tells it `MAINPID=` the new one, so the
//! unit follows the new process; the unit needs `NotifyAccess=all` for the
//! new process's messages sent before that.

use std::ffi::OsString;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use command_fds::{CommandFdExt, FdMapping};
use tokio::sync::oneshot;

use crate::context::Context;
use crate::lifecycle::Shared;
use crate::notify::UPGRADE_NOTIFY_ENV;
use crate::report::{Reason, Secs, console};
use crate::sockets::{self, LISTEN_FDS_ENV};

/// The binary an upgrade starts, over [`crate::Runtime::upgrade_binary`].
pub(crate) const UPGRADE_BINARY_ENV: &str = "GRACEFUL_UPGRADE_BINARY";

/// How an upgrade is done, as the builder says.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// `None`: no upgrade.
    pub(crate) signal: Option<crate::Signal>,
    /// `None`: the binary this process was started from.
    pub(crate) binary: Option<PathBuf>,
    pub(crate) timeout: Duration,
}

impl Default for Config {
    /// `SIGUSR2` (nginx's signal for its binary upgrade; `SIGHUP` reloads,
    /// `SIGUSR1` dumps), this program's binary, 30 s to become ready.
    fn default() -> Config {
        Config {
            signal: Some(crate::Signal::User2),
            binary: None,
            timeout: Duration::from_secs(30),
        }
    }
}

impl crate::Runtime {
    /// The signal that upgrades the program without dropping a connection
    /// (`SIGUSR2` by default; `None`: no upgrade, the signal is ignored).
    /// The process starts the new binary (see [`upgrade_binary`]) with its
    /// listening sockets (those [offered](crate::sockets::offer), as
    /// `graceful::http::bind` does), waits until the new process is ready
    /// (its `main` returned), then drains with the reason
    /// [`Reason::Upgraded`] and exits. If the new process cannot start,
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
    pub fn upgrade_signal(mut self, signal: Option<crate::Signal>) -> Self {
        self.upgrade.signal = signal;
        self
    }

    /// The binary an upgrade starts: by default the path this program was
    /// started from, read at start (a deploy that replaced the file is
    /// what an upgrade is for; with a symbolic link to the current release,
    /// name the link here: the path read at start is the link's target).
    /// `GRACEFUL_UPGRADE_BINARY` overrides it. The new process gets the
    /// same arguments and environment, plus `LISTEN_FDS` and
    /// `LISTEN_FDNAMES` for the sockets.
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

/// The upgrades of one process: one at a time.
pub(crate) struct Upgrader {
    config: Config,
    /// The binary this process was started from, read at start: once a
    /// deploy replaced the file, `/proc/self/exe` names a deleted file.
    exe: Option<PathBuf>,
    busy: AtomicBool,
}

impl Upgrader {
    pub(crate) fn new(config: Config) -> Arc<Upgrader> {
        Arc::new(Upgrader {
            exe: std::env::current_exe().ok(),
            config,
            busy: AtomicBool::new(false),
        })
    }

    pub(crate) fn signal(&self) -> Option<crate::Signal> {
        self.config.signal
    }

    /// Starts an upgrade as a task of `root`, unless one is under way.
    pub(crate) fn start(self: &Arc<Self>, root: Context, shared: Arc<Shared>) {
        if self.busy.swap(true, Ordering::AcqRel) {
            tracing::warn!("upgrade already under way; signal ignored");
            return;
        }
        let this = self.clone();
        let ctx = root.clone();
        root.spawn_with(crate::Policy::Isolated, "upgrade", async move {
            let upgraded = this.upgrade(&ctx).await;
            // Before saying why: a signal sent once that is read may upgrade again.
            this.busy.store(false, Ordering::Release);
            match upgraded {
                Ok(pid) => {
                    shared.notifier.send(&format!("MAINPID={pid}"));
                    shared.request(Reason::Upgraded { pid });
                }
                Err(why) => {
                    tracing::error!(%why, "upgrade failed");
                    console(format_args!(
                        "graceful: upgrade failed: {why}; this process goes on serving"
                    ));
                }
            }
        });
    }

    /// Starts the new binary and waits until it is ready: its pid.
    async fn upgrade(&self, ctx: &Context) -> Result<u32, String> {
        let binary = self
            .config
            .binary
            .clone()
            .or_else(|| self.exe.clone())
            .ok_or("the path of this program's binary is unknown")?;
        let (ready_socket, ready_name) = ready_socket().map_err(|e| format!("{e}"))?;
        let offered = sockets::offered().map_err(|e| format!("listening sockets: {e}"))?;
        let names: Vec<String> = offered.iter().map(|o| o.name.clone()).collect();
        let mappings = offered
            .into_iter()
            .enumerate()
            .map(|(i, o)| FdMapping {
                parent_fd: o.fd,
                child_fd: sockets::child_fd(i),
            })
            .collect();
        let mut cmd = Command::new(&binary);
        cmd.args(std::env::args_os().skip(1))
            .stdin(Stdio::null())
            .env(LISTEN_FDS_ENV, names.len().to_string())
            .env("LISTEN_FDNAMES", names.join(":"))
            .env_remove("LISTEN_PID") // the new pid is not known before
            // systemd's WATCHDOG_PID names this process: kept, it would stop
            // the new one from pinging, and the watchdog would kill the
            // service once this one exits. Without it, the new process pings
            // (NotifyAccess=all lets it).
            .env_remove("WATCHDOG_PID")
            .env(UPGRADE_NOTIFY_ENV, &ready_name)
            .fd_mappings(mappings)
            .map_err(|e| e.to_string())?;
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        drop(cmd); // the duplicates of the sockets
        let pid = child.id();
        console(format_args!(
            "graceful: upgrade: started {} (pid {pid}), waiting until it is ready",
            binary.display()
        ));
        let (exited_tx, exited) = oneshot::channel::<std::io::Result<ExitStatus>>();
        std::thread::spawn(move || drop(exited_tx.send(child.wait())));
        let ready = wait_for_ready(ready_socket, self.config.timeout);
        let timeout = Secs(self.config.timeout);
        let failed = tokio::select! {
            ready = ready => match ready {
                Ok(()) => return Ok(pid),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                    format!("the new process (pid {pid}) was not ready within {timeout}")
                }
                Err(e) => format!("cannot hear whether the new process (pid {pid}) is ready: {e}"),
            },
            status = exited => {
                let status = match status {
                    Ok(Ok(status)) => status.to_string(),
                    _ => "unknown status".into(),
                };
                return Err(format!("the new process (pid {pid}) ended ({status}) before it was ready"));
            }
            () = ctx.shutdown_requested() => format!("the shutdown began before the new process (pid {pid}) was ready"),
        };
        terminate(pid);
        Err(format!("{failed}; sent it SIGTERM"))
    }
}

/// A socket only this process's child is told of, named for the
/// environment: an abstract name on Linux, a file in the temporary
/// directory elsewhere.
fn ready_socket() -> std::io::Result<(UnixDatagram, OsString)> {
    let name = format!(
        "graceful-upgrade-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name)?;
        let socket = UnixDatagram::bind_addr(&addr)?;
        Ok((socket, format!("@{name}").into()))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let path = std::env::temp_dir().join(format!("{name}.sock"));
        let socket = UnixDatagram::bind(&path)?;
        Ok((socket, path.into_os_string()))
    }
}

/// Completes when `READY=1` arrives on `socket`, or fails after `timeout`.
async fn wait_for_ready(socket: UnixDatagram, timeout: Duration) -> std::io::Result<()> {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let result = (|| {
            socket.set_read_timeout(Some(timeout))?;
            let mut buf = [0; 512];
            loop {
                let n = socket.recv(&mut buf)?;
                if buf[..n]
                    .split(|b| *b == b'\n')
                    .any(|line| line == b"READY=1")
                {
                    return Ok(());
                }
            }
        })();
        let _ = tx.send(result);
    });
    rx.await
        .unwrap_or_else(|_| Err(std::io::Error::other("the waiting thread died")))
}

fn terminate(pid: u32) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
}

impl std::fmt::Debug for Upgrader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrader")
            .field("config", &self.config)
            .finish()
    }
}
