//! The ready handshake between the two processes of an upgrade, on a
//! private Unix stream socket named by `GRACEFUL_UPGRADE_NOTIFY`: the new
//! process says [`READY`] once its `main` returned; the old one hands the
//! service over (`MAINPID=` to systemd) and answers [`HANDED_OVER`]; the
//! new one then speaks for the service (`READY=1` to systemd, its status,
//! the watchdog).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;

use tokio::io::AsyncBufReadExt;
use tokio::net::{UnixListener, UnixStream};

use super::inherited::{self, UPGRADE_NOTIFY_ENV};
use crate::console::console;
use crate::notify::socket_address;
use crate::process::Process;

/// What the new process of an upgrade says on its channel once it is
/// ready, and what the old one answers once it has handed the service over
/// (`MAINPID=`).
pub(super) const READY: &str = "READY=1";
pub(super) const HANDED_OVER: &str = "MAIN=1";

/// The old process: a socket only this process's child is told of, named
/// for the environment: an abstract name on Linux, a file in the temporary
/// directory elsewhere.
pub(super) fn ready_socket() -> std::io::Result<(UnixListener, OsString)> {
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

/// The old process: the new process's channel once it has said `READY=1`
/// on it; an `UnexpectedEof` error if it closed the channel (ended) before.
pub(super) async fn wait_for_ready(listener: &UnixListener) -> std::io::Result<UnixStream> {
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

/// The new process, if an upgrade started this one (the start captured
/// `GRACEFUL_UPGRADE_NOTIFY`; the first runtime of the process takes it):
/// it stays silent to systemd until the old one hands the service over,
/// once `main` returned. A channel that cannot be reached is said on
/// stderr, and the process is then the service's main process at once.
pub(crate) fn hand_over_when_ready(shared: &Arc<Process>) {
    let Some(path) = inherited::take_parent() else {
        return;
    };
    let parent =
        socket_address(&path).and_then(|addr| std::os::unix::net::UnixStream::connect_addr(&addr));
    let parent = match parent {
        Ok(parent) => parent,
        Err(e) => {
            console(format_args!(
                "graceful: {UPGRADE_NOTIFY_ENV}={}: {e}; the process that started this one cannot hear that it is ready",
                path.to_string_lossy()
            ));
            return;
        }
    };
    shared.notifier.wait_for_hand_over();
    let s = shared.clone();
    // A plain task, as the watchdog's: it holds no lifecycle open.
    shared.handle.spawn(async move {
        s.main_returned.cancelled().await;
        // It waits for the old process's answer: a thread of its own.
        let spawned = std::thread::Builder::new()
            .name("graceful upgrade".into())
            .spawn(move || {
                if let Err(error) = handshake(&parent, &s) {
                    tracing::warn!(%error, "cannot tell the old process of the upgrade that this one is ready");
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the thread that waits for the old process");
        }
    });
}

/// Says `READY=1` to the old process and, once it answers that it handed
/// the service over, takes the service.
fn handshake(parent: &std::os::unix::net::UnixStream, shared: &Process) -> std::io::Result<()> {
    let mut writer = parent;
    writer.write_all(format!("{READY}\n").as_bytes())?;
    let answered = BufReader::new(parent)
        .lines()
        .map_while(Result::ok)
        .any(|line| line == HANDED_OVER);
    if answered {
        shared.notifier.take_over();
    } else {
        tracing::warn!("the old process of the upgrade ended before it handed the service over");
    }
    Ok(())
}
