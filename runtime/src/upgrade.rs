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
//! upgrade timeout (it is then sent `SIGTERM`, and `SIGKILL` 5 s later if
//! it still runs), the old process says why on stderr and goes on serving.
//!
//! Under systemd (`NOTIFY_SOCKET`), the new process is made systemd's
//! child rather than this one's (see `upgrade/launch.rs`), and the service is
//! handed over in three steps on a private stream socket
//! (`GRACEFUL_UPGRADE_NOTIFY`): the new process says `READY=1` on it; the
//! old one tells systemd `MAINPID=` the new one, stops speaking to systemd,
//! and answers `MAIN=1`; the new one then tells systemd `READY=1` and its
//! status, and pings the watchdog from then on (the unit needs
//! `NotifyAccess=all`). Until then the new process says nothing to
//! systemd, so a new binary that fails cannot stop the unit; and the old
//! one's last status is not taken for the new one's. `deploy/systemd-check`
//! checks all of it against a real systemd.

use std::ffi::OsString;
use std::future::{Future, poll_fn};
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::console::{Secs, console};
use crate::context::Context;
use crate::env::NOTIFY_SOCKET;
use crate::notify::{HANDED_OVER, READY};
use crate::process::Process;
use crate::report::Reason;

mod launch;

use launch::{KILL_AFTER, ended, executable, launch, terminate};

/// How an upgrade is done, as the builder says.
#[derive(Clone, Debug)]
pub(crate) struct UpgradeConfig {
    /// `None`: no upgrade.
    pub(crate) signal: Option<crate::Signal>,
    /// `None`: the binary this process was started from.
    pub(crate) binary: Option<PathBuf>,
    pub(crate) timeout: Duration,
}

impl Default for UpgradeConfig {
    /// `SIGUSR2` (nginx's signal for its binary upgrade; `SIGHUP` reloads,
    /// `SIGUSR1` dumps), this program's binary, 30 s to become ready.
    fn default() -> UpgradeConfig {
        UpgradeConfig {
            signal: Some(crate::Signal::User2),
            binary: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The upgrades of one process: one at a time.
pub(crate) struct Upgrader {
    config: UpgradeConfig,
    /// The binary this process was started from, read at start: once a
    /// deploy replaced the file, `/proc/self/exe` names a deleted file.
    exe: Option<PathBuf>,
    /// Whether the new process is made systemd's child rather than this
    /// one's: under systemd (`NOTIFY_SOCKET`), read at start.
    orphan: bool,
    busy: AtomicBool,
}

impl Upgrader {
    pub(crate) fn new(config: UpgradeConfig) -> Arc<Upgrader> {
        Arc::new(Upgrader {
            exe: std::env::current_exe().ok(),
            orphan: cfg!(target_os = "linux") && std::env::var_os(NOTIFY_SOCKET).is_some(),
            config,
            busy: AtomicBool::new(false),
        })
    }

    /// Starts an upgrade as a task of `root`, unless one is under way (the
    /// signal `sig` asked for it). The new process is started no earlier
    /// than `not_before`: the supervisor passes the end of the signal's
    /// window, so that the copies of the signal that a service manager
    /// sends to every process of the service have all arrived (and are
    /// ignored) before there is a new process.
    pub(crate) fn start(
        self: &Arc<Self>,
        root: Context,
        shared: Arc<Process>,
        sig: crate::Signal,
        not_before: tokio::time::Instant,
    ) {
        if self.busy.swap(true, Ordering::AcqRel) {
            tracing::warn!(signal = %sig, "upgrade already under way; signal ignored");
            console(format_args!(
                "graceful: {sig} ignored: an upgrade is already under way"
            ));
            return;
        }
        let this = self.clone();
        let ctx = root.clone();
        root.spawn_with(crate::Policy::Isolated, "upgrade", async move {
            tokio::time::sleep_until(not_before).await;
            let upgraded = this.upgrade(&ctx, &shared).await;
            // Before saying why: a signal sent once that is read may upgrade again.
            this.busy.store(false, Ordering::Release);
            match upgraded {
                Ok(pid) => shared.request(Reason::Upgraded { pid }),
                Err(why) => {
                    tracing::error!(%why, "upgrade failed");
                    console(format_args!(
                        "graceful: upgrade failed: {why}; this process goes on serving"
                    ));
                }
            }
        });
    }

    /// Starts the new binary, waits until it is ready and hands the
    /// service over to it: its pid.
    async fn upgrade(self: &Arc<Self>, ctx: &Context, shared: &Process) -> Result<u32, String> {
        let binary = self
            .config
            .binary
            .clone()
            .or_else(|| self.exe.clone())
            .ok_or("the path of this program's binary is unknown")?;
        executable(&binary).map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let (listener, name) = ready_socket().map_err(|e| format!("{e}"))?;
        // It waits for the shell's first line: not on a worker of the runtime.
        let (this, launched) = (self.clone(), (binary.clone(), name.clone()));
        let started = tokio::task::spawn_blocking(move || {
            launch(&launched.0, &launched.1, this.config.signal, this.orphan)
        })
        .await
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))??;
        let pid = started.pid;
        console(format_args!(
            "graceful: upgrade: started {} (pid {pid}), waiting until it is ready",
            binary.display()
        ));
        let timeout = self.config.timeout;
        let mut ended = pin!(ended(started));
        let ended_before_ready = |status: Option<String>| match status {
            Some(status) => {
                format!("the new process (pid {pid}) ended ({status}) before it was ready")
            }
            None => format!("the new process (pid {pid}) ended before it was ready"),
        };
        let mut ready = pin!(tokio::time::timeout(timeout, wait_for_ready(&listener)));
        let mut shutdown = pin!(ctx.shutdown_requested());
        let first = poll_fn(|cx| {
            if let Poll::Ready(ready) = ready.as_mut().poll(cx) {
                return Poll::Ready(Launched::Answered(ready));
            }
            if let Poll::Ready(status) = ended.as_mut().poll(cx) {
                return Poll::Ready(Launched::Ended(status));
            }
            if shutdown.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Launched::ShutdownBegan);
            }
            Poll::Pending
        })
        .await;
        let failed = match first {
            Launched::Answered(ready) => match ready {
                Ok(Ok(mut channel)) => {
                    // Under systemd the service is the new process's from
                    // now on; then this one says nothing more to systemd.
                    shared.notifier.hand_over(pid);
                    let answer = format!("{HANDED_OVER}\n");
                    if let Err(e) = channel.write_all(answer.as_bytes()).await {
                        tracing::warn!(error = %e, pid, "cannot tell the new process it has the service");
                    }
                    return Ok(pid);
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    // It closed the channel: it is ending, and its exit
                    // status (if it is this process's child) follows.
                    match tokio::time::timeout(Duration::from_secs(1), &mut ended).await {
                        Ok(status) => return Err(ended_before_ready(status)),
                        Err(_) => format!(
                            "the new process (pid {pid}) closed its channel before it was ready"
                        ),
                    }
                }
                Ok(Err(e)) => {
                    format!("cannot hear whether the new process (pid {pid}) is ready: {e}")
                }
                Err(_) => format!(
                    "the new process (pid {pid}) was not ready within {}",
                    Secs(timeout)
                ),
            },
            Launched::Ended(status) => return Err(ended_before_ready(status)),
            Launched::ShutdownBegan => {
                format!("the shutdown began before the new process (pid {pid}) was ready")
            }
        };
        terminate(ctx, pid, KILL_AFTER);
        Err(format!("{failed}; sent it SIGTERM"))
    }
}

/// What happened first once the new process was started.
enum Launched<R> {
    /// It answered on the ready channel, or the upgrade timeout passed.
    Answered(R),
    /// It ended, with this exit status if known.
    Ended(Option<String>),
    ShutdownBegan,
}

/// A socket only this process's child is told of, named for the
/// environment: an abstract name on Linux, a file in the temporary
/// directory elsewhere.
fn ready_socket() -> std::io::Result<(UnixListener, OsString)> {
    let name = format!(
        "graceful-upgrade-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let (listener, name) = {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name)?;
        let listener = std::os::unix::net::UnixListener::bind_addr(&addr)?;
        (listener, OsString::from(format!("@{name}")))
    };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let (listener, name) = {
        let path = std::env::temp_dir().join(format!("{name}.sock"));
        let listener = std::os::unix::net::UnixListener::bind(&path)?;
        (listener, path.into_os_string())
    };
    listener.set_nonblocking(true)?;
    Ok((UnixListener::from_std(listener)?, name))
}

/// The new process's channel once it has said `READY=1` on it; an
/// `UnexpectedEof` error if it closed the channel (ended) before.
async fn wait_for_ready(listener: &UnixListener) -> std::io::Result<UnixStream> {
    let (stream, _) = listener.accept().await?;
    let (read, write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        if line == READY {
            let stream = lines
                .into_inner()
                .into_inner()
                .reunite(write)
                .map_err(std::io::Error::other)?;
            return Ok(stream);
        }
    }
    Err(std::io::ErrorKind::UnexpectedEof.into())
}

impl std::fmt::Debug for Upgrader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrader")
            .field("config", &self.config)
            .finish()
    }
}
