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
//!
//! # The room
//!
//! This module owns the upgrade and socket inheritance, and their state:
//!
//! | file | what it holds |
//! |---|---|
//! | `upgrade.rs` | the [`Upgrader`] of one runtime (one upgrade at a time), and the interface the entry points and the supervisor call: [`capture`], [`Upgrader::new`], [`Upgrader::start`], [`Upgrader::shutdown_began`], [`hand_over_when_ready`] |
//! | `upgrade/inherited.rs` | what the start captured of the environment, once per process, and the sockets handed down: the room's one process-wide place (the fd table is the process's) |
//! | `upgrade/sockets.rs` | the public face, `graceful::sockets`: [`inherited`](sockets::inherited), [`offer`](sockets::offer), [`withdraw`](sockets::withdraw); and the offers of one runtime, kept in its process hub |
//! | `upgrade/ready.rs` | the ready handshake with the new binary, both sides |
//! | `upgrade/launch.rs` | how the new binary is started, watched and stopped |
//! | `upgrade/config.rs` | the builder's values and the environment's overrides |
//!
//! Nothing here changes the process's environment: the new binary gets its
//! variables through `Command::env` and `Command::env_remove`.

use std::future::{Future, poll_fn};
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::console::{Secs, console};
use crate::context::Context;
use crate::process::Process;
use crate::report::Reason;

mod config;
mod inherited;
mod launch;
mod ready;
pub mod sockets;
#[cfg(test)]
mod tests;

pub(crate) use config::UpgradeConfig;
pub(crate) use inherited::capture;
pub(crate) use ready::hand_over_when_ready;

use launch::{KILL_AFTER, ended, executable, launch, terminate};
use ready::{HANDED_OVER, ready_socket, wait_for_ready};
use sockets::Offers;

/// The offers of `process`'s runtime, in its hub (created on first use).
fn offers(process: &Process) -> Arc<Offers> {
    let any = process
        .handover
        .get_or_init(|| Arc::new(Offers::default()))
        .clone();
    any.downcast::<Offers>()
        .expect("only this room fills the hub's handover slot, with its offers")
}

/// The upgrades of one runtime: one at a time.
pub(crate) struct Upgrader {
    config: UpgradeConfig,
    /// What the runtime offers to the next binary (also in its hub, where
    /// `sockets::offer` finds it through a `Context`).
    offers: Arc<Offers>,
    /// The binary this process was started from, read at start: once a
    /// deploy replaced the file, `/proc/self/exe` names a deleted file.
    exe: Option<PathBuf>,
    /// Whether the new process is made systemd's child rather than this
    /// one's: under systemd (`NOTIFY_SOCKET`, as the start captured it).
    orphan: bool,
    busy: AtomicBool,
}

impl Upgrader {
    /// The upgrader of the runtime whose hub is `shared`.
    pub(crate) fn new(config: UpgradeConfig, shared: &Process) -> Arc<Upgrader> {
        Arc::new(Upgrader {
            exe: std::env::current_exe().ok(),
            orphan: cfg!(target_os = "linux") && inherited::under_systemd(),
            offers: offers(shared),
            config,
            busy: AtomicBool::new(false),
        })
    }

    /// The shutdown began: every offer of this runtime is dropped, so that
    /// closing a listener now refuses connections.
    pub(crate) fn shutdown_began(&self) {
        self.offers.clear();
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
            let offered = this
                .offers
                .duplicates()
                .map_err(|e| format!("listening sockets: {e}"))?;
            launch(
                &launched.0,
                &launched.1,
                offered,
                this.config.signal,
                this.orphan,
            )
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

impl std::fmt::Debug for Upgrader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrader")
            .field("config", &self.config)
            .finish()
    }
}
