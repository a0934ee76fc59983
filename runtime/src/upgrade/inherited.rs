//! What the start captured of the environment for the upgrade and socket
//! inheritance, once per process, and the sockets handed down.
//!
//! # Why process-wide
//!
//! This is the one process-wide place of the room, because what it holds
//! is the process's, not a runtime's: the descriptors handed down are
//! entries of the process's fd table (fd 3 on), which can each have one
//! owner; and the environment that names them is the process's too. Two
//! runtimes in one process share them: each socket is handed out once,
//! to whichever asks first.
//!
//! # Invariants
//!
//! 1. [`capture`] reads `LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`,
//!    `GRACEFUL_UPGRADE_NOTIFY` and `NOTIFY_SOCKET` once, on the first
//!    start (before the runtime starts a thread), and never writes the
//!    environment: the variables stay, and a child this process starts
//!    does not take the sockets because `LISTEN_PID` names this process,
//!    not the child (systemd's protocol; a missing `LISTEN_PID` hands down
//!    nothing). The children graceful starts (the new binary of an upgrade)
//!    get theirs through `Command::env`.
//! 2. The descriptors are made owned (`OwnedFd`) once, by `sd-listen-fds`
//!    (the `from_raw_fd` our crates, which forbid `unsafe`, cannot write),
//!    in [`capture`], and only when `LISTEN_PID` is this process's id and
//!    the variables are well formed: nothing else in the process owns fd 3
//!    on before that (they were open at `exec`, and the start runs before
//!    user code opens files).
//! 3. Nothing reads the environment lazily: a call before any start (or in
//!    a program without one) finds nothing captured, so nothing handed down.

use std::ffi::OsString;
use std::io;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::sync::{Mutex, OnceLock};

use crate::env::NOTIFY_SOCKET;
use crate::sync::lock;

/// The environment variable with the number of sockets handed down.
pub(super) const LISTEN_FDS_ENV: &str = "LISTEN_FDS";
pub(super) const LISTEN_PID_ENV: &str = "LISTEN_PID";
pub(super) const LISTEN_FDNAMES_ENV: &str = "LISTEN_FDNAMES";
/// Where a new process started by an upgrade says it is ready: a Unix
/// stream socket the old process listens on.
pub(super) const UPGRADE_NOTIFY_ENV: &str = "GRACEFUL_UPGRADE_NOTIFY";

/// What the first start captured.
static CAPTURED: OnceLock<Captured> = OnceLock::new();

struct Captured {
    /// The sockets handed down, or why the variables that describe them
    /// are wrong.
    sockets: Result<Mutex<Vec<Handed>>, String>,
    /// `GRACEFUL_UPGRADE_NOTIFY`, until the first runtime takes it.
    parent: Mutex<Option<OsString>>,
    /// Whether systemd supervises this process (`NOTIFY_SOCKET` is set).
    under_systemd: bool,
}

/// A socket handed down, until it is taken.
struct Handed {
    name: String,
    fd: Option<OwnedFd>,
}

/// Reads the environment, once per process: the entry points call it
/// before they start a thread. Later calls do nothing.
pub(crate) fn capture() {
    CAPTURED.get_or_init(|| {
        let var = |name| std::env::var(name).ok();
        Captured {
            sockets: take(
                var(LISTEN_FDS_ENV),
                var(LISTEN_PID_ENV),
                var(LISTEN_FDNAMES_ENV),
            )
            .map(Mutex::new),
            parent: Mutex::new(std::env::var_os(UPGRADE_NOTIFY_ENV)),
            under_systemd: std::env::var_os(NOTIFY_SOCKET).is_some(),
        }
    });
}

/// The sockets that `fds`, `pid` and `names` (the variables' values) hand
/// down to this process.
fn take(
    fds: Option<String>,
    pid: Option<String>,
    names: Option<String>,
) -> Result<Vec<Handed>, String> {
    let Some(fds) = fds else {
        return Ok(Vec::new());
    };
    let count = fds.trim().parse::<usize>().map_err(|_| {
        format!("invalid {LISTEN_FDS_ENV}={fds}: expected the number of sockets handed down")
    })?;
    let names: Vec<String> = match names {
        Some(names) if !names.is_empty() => names.split(':').map(str::to_owned).collect(),
        _ => vec![String::new(); count],
    };
    if names.len() != count {
        return Err(format!(
            "{LISTEN_FDNAMES_ENV} names {} sockets, {LISTEN_FDS_ENV}={count}",
            names.len()
        ));
    }
    let for_us = pid.is_some_and(|pid| pid.trim() == std::process::id().to_string());
    if !for_us || count == 0 {
        return Ok(Vec::new());
    }
    // It reads the same variables again (nothing changed them) and makes
    // the descriptors owned: invariant 2.
    let fds = sd_listen_fds::get()
        .map_err(|e| format!("{LISTEN_FDS_ENV}={count}, {LISTEN_PID_ENV}: {e}"))?;
    if fds.len() != count {
        return Ok(Vec::new()); // not Linux: no descriptor is taken
    }
    Ok(names
        .into_iter()
        .zip(fds)
        .map(|(name, (_, fd))| {
            let fd = fd.into_std();
            close_on_exec(&fd);
            Handed { name, fd: Some(fd) }
        })
        .collect())
}

/// Programs this process starts do not inherit the socket (systemd hands
/// it down without `FD_CLOEXEC`); an upgrade passes it on explicitly.
fn close_on_exec(fd: &OwnedFd) {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
}

/// The first socket handed down that `pick` chooses (by its index, name
/// and descriptor), taken if `check` accepts it (otherwise it stays, and
/// `check`'s error is returned): each is handed out once. `Ok(None)` if
/// none was chosen, or nothing was captured.
pub(super) fn take_socket(
    pick: impl FnOnce(&mut dyn Iterator<Item = (usize, &str, &OwnedFd)>) -> Option<usize>,
    check: impl FnOnce(usize, &OwnedFd) -> io::Result<()>,
) -> io::Result<Option<TcpListener>> {
    let Some(captured) = CAPTURED.get() else {
        return Ok(None);
    };
    let sockets = match &captured.sockets {
        Ok(sockets) => sockets,
        Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidInput, e.clone())),
    };
    let mut sockets = lock(sockets);
    let mut candidates = sockets
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.fd.as_ref().map(|fd| (i, s.name.as_str(), fd)));
    let Some(idx) = pick(&mut candidates) else {
        return Ok(None);
    };
    let slot = &mut sockets[idx].fd;
    check(idx, slot.as_ref().expect("a candidate has its descriptor"))?;
    Ok(slot.take().map(TcpListener::from))
}

/// `GRACEFUL_UPGRADE_NOTIFY`, for the first runtime that asks: the channel
/// to the old process of an upgrade is one per process.
pub(super) fn take_parent() -> Option<OsString> {
    CAPTURED.get().and_then(|c| lock(&c.parent).take())
}

/// Whether systemd supervises this process, as captured (false if nothing
/// was).
pub(super) fn under_systemd() -> bool {
    CAPTURED.get().is_some_and(|c| c.under_systemd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_for_another_process_or_none_are_not_taken() {
        let s = |v: &str| Some(v.to_owned());
        assert!(take(None, None, None).unwrap().is_empty());
        // No LISTEN_PID: not ours (listenfd accepted it; systemd sets it).
        assert!(take(s("1"), None, None).unwrap().is_empty());
        assert!(take(s("1"), s("1"), None).unwrap().is_empty());
        assert_eq!(
            take(s("two"), None, None).err().unwrap(),
            "invalid LISTEN_FDS=two: expected the number of sockets handed down"
        );
        assert_eq!(
            take(s("2"), s("1"), s("http")).err().unwrap(),
            "LISTEN_FDNAMES names 1 sockets, LISTEN_FDS=2"
        );
    }
}
