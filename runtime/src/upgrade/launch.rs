//! How the new process of an upgrade is started (through [`LAUNCH`]), and
//! watched until it is ready or gone; a failed one is stopped.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use command_fds::{CommandFdExt, FdMapping};
use tokio::sync::oneshot;

use super::inherited::{LISTEN_FDNAMES_ENV, LISTEN_FDS_ENV, LISTEN_PID_ENV, UPGRADE_NOTIFY_ENV};
use super::sockets::{Offered, child_fd};
use crate::console::{Secs, console};
use crate::context::Context;

/// How the new process is started: by `/bin/sh`, which
///
/// 1. ignores the upgrade signal (`$1`) for it: an ignored signal stays
///    ignored across `exec`, until the new runtime installs its own
///    handler, so a signal sent to every process of the unit
///    (`systemctl kill -s USR2`) cannot end the new process before that,
///    nor start a second upgrade;
/// 2. under systemd (`$2` is `orphan`), goes through `setsid --fork`, whose
///    parent exits at once: the new process is then the child of systemd
///    (PID 1, or the service manager that reaps orphans), not of this
///    process. `MAINPID=` must name a process systemd can wait for: for
///    one that is not its child, systemd 252 says "Supervising process N
///    which is not our child" and, at the next stop, sends `SIGTERM` and
///    `SIGKILL` at once, with no drain;
/// 3. writes the new process's pid on its standard output (a pipe to this
///    process), sets `LISTEN_PID` to it (systemd's protocol: the sockets
///    are that process's, not its children's), then starts the binary
///    (`$0`, with the arguments after `$2`) with the standard output this
///    process has, handed down as fd `OUT`, the one after the sockets.
///
/// Rust's standard library has no safe way to fork twice; a shell does it
/// in a process of its own.
const LAUNCH: &str = r#"trap '' "$1"
if [ "$2" = orphan ]; then
    shift 2
    exec setsid --fork /bin/sh -c 'echo $$; LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@" >&OUT OUT>&-' "$0" "$@"
fi
shift 2
echo $$
LISTEN_PID=$$; export LISTEN_PID
exec "$0" "$@" >&OUT OUT>&-"#;

/// The new process, as started.
pub(super) struct Started {
    pub(super) pid: u32,
    /// Its exit status, if it is this process's child.
    exited: Option<oneshot::Receiver<std::io::Result<ExitStatus>>>,
}

/// Starts the new process through [`LAUNCH`], with the listening
/// sockets from fd 3 on.
pub(super) fn launch(
    binary: &Path,
    ready: &OsString,
    offered: Vec<Offered>,
    signal: Option<crate::Signal>,
    orphan: bool,
) -> Result<Started, String> {
    let names: Vec<String> = offered.iter().map(|o| o.name.clone()).collect();
    let stdout_fd = child_fd(offered.len());
    let stdout = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("standard output: {e}"))?;
    let mut mappings: Vec<FdMapping> = offered
        .into_iter()
        .enumerate()
        .map(|(i, o)| FdMapping {
            parent_fd: o.fd,
            child_fd: child_fd(i),
        })
        .collect();
    mappings.push(FdMapping {
        parent_fd: stdout,
        child_fd: stdout_fd,
    });
    let sig = signal.map_or("USR2", |s| s.name().trim_start_matches("SIG"));
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(LAUNCH.replace("OUT", &stdout_fd.to_string()))
        .arg(binary) // $0
        .arg(sig)
        .arg(if orphan { "orphan" } else { "child" })
        .args(std::env::args_os().skip(1))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .env(LISTEN_FDS_ENV, names.len().to_string())
        .env(LISTEN_FDNAMES_ENV, names.join(":"))
        // The new pid is not known before: the shell sets LISTEN_PID=$$
        // just before its `exec`, so that only the new binary takes them.
        .env_remove(LISTEN_PID_ENV)
        // systemd's WATCHDOG_PID names this process: kept, it would stop
        // the new one from pinging, and the watchdog would kill the
        // service once this one exits. Without it, the new process pings
        // once it has the service (NotifyAccess=all lets it).
        .env_remove("WATCHDOG_PID")
        .env(UPGRADE_NOTIFY_ENV, ready)
        .fd_mappings(mappings)
        .map_err(|e| e.to_string())?;
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start /bin/sh for {}: {e}", binary.display()))?;
    drop(cmd); // the duplicates of the sockets
    let mut line = String::new();
    let read = child
        .stdout
        .take()
        .map(|out| BufReader::new(out).read_line(&mut line));
    let pid = match (read, line.trim().parse::<u32>()) {
        (Some(Ok(_)), Ok(pid)) => pid,
        _ => {
            let status = child
                .wait()
                .map_or("unknown status".into(), |s| s.to_string());
            return Err(format!("cannot start {} ({status})", binary.display()));
        }
    };
    let (exited_tx, exited) = oneshot::channel();
    // The shell (here, or `setsid`'s parent) is reaped in any case.
    std::thread::spawn(move || drop(exited_tx.send(child.wait())));
    Ok(Started {
        pid,
        exited: (!orphan).then_some(exited),
    })
}

/// Whether `path` is a file this process may execute.
pub(super) fn executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "not an executable file",
        ));
    }
    Ok(())
}

/// Completes when the new process has ended: with its exit status if it
/// is this process's child; otherwise (its parent has the status) once it
/// no longer exists, looked at every 50 ms.
pub(super) async fn ended(started: Started) -> Option<String> {
    if let Some(exited) = started.exited {
        return Some(match exited.await {
            Ok(Ok(status)) => status.to_string(),
            _ => "unknown status".into(),
        });
    }
    while alive(started.pid) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Whether `pid` exists and has not ended (a zombie has).
fn alive(pid: u32) -> bool {
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if kill(Pid::from_raw(raw), None).is_err() {
        return false;
    }
    #[cfg(target_os = "linux")]
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        && let Some((_, rest)) = stat.rsplit_once(')')
    {
        return !rest.trim_start().starts_with('Z');
    }
    true
}

/// How long a new process that failed has to end after `SIGTERM`, before
/// it gets `SIGKILL`: it holds the listening sockets.
pub(super) const KILL_AFTER: Duration = Duration::from_secs(5);

/// Sends `pid` `SIGTERM`, and `SIGKILL` if it still runs `after` that (a
/// task of `ctx`: a drain that began meanwhile waits for it).
pub(super) fn terminate(ctx: &Context, pid: u32, after: Duration) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let Ok(raw) = i32::try_from(pid) else {
        return;
    };
    let _ = kill(Pid::from_raw(raw), Signal::SIGTERM);
    ctx.spawn_with(crate::Policy::Isolated, "upgrade: end the new process", async move {
        let deadline = tokio::time::Instant::now() + after;
        while alive(pid) {
            if tokio::time::Instant::now() >= deadline {
                let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
                console(format_args!(
                    "graceful: upgrade: the new process (pid {pid}) did not end within {} of SIGTERM; sent it SIGKILL",
                    Secs(after)
                ));
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}
