//! Listening sockets that outlive a process: those handed down at start
//! (systemd's socket activation, or the old process of an
//! [upgrade](crate::Runtime::upgrade_signal)), and those this process
//! offers to the next binary when it upgrades.
//!
//! [`graceful::http::bind`](https://docs.rs/gracefully/latest/graceful/http/fn.bind.html)
//! does all of it; a server of another kind (gRPC, a raw TCP protocol)
//! calls [`inherited`] before it binds and [`offer`] after.
//!
//! The protocol is systemd's: `LISTEN_FDS=n` sockets from fd 3 on, for the
//! process `LISTEN_PID` (when set), named by `LISTEN_FDNAMES`
//! (colon-separated, optional).

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, OnceLock};

use listenfd::ListenFd;
use nix::sys::socket::{SockaddrStorage, getsockname};

use crate::sync::lock;

/// The environment variable with the number of sockets handed down.
///
/// ```
/// assert_eq!(graceful::sockets::LISTEN_FDS_ENV, "LISTEN_FDS");
/// ```
pub const LISTEN_FDS_ENV: &str = "LISTEN_FDS";
const LISTEN_PID_ENV: &str = "LISTEN_PID";
const LISTEN_FDNAMES_ENV: &str = "LISTEN_FDNAMES";
/// The first socket handed down (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// The sockets handed down to this process, or why the environment that
/// describes them is wrong.
static INHERITED: OnceLock<Result<Mutex<Inherited>, String>> = OnceLock::new();

/// The sockets this process hands to the next binary on an upgrade.
static OFFERED: Mutex<Vec<Offered>> = Mutex::new(Vec::new());

struct Inherited {
    fds: ListenFd,
    names: Vec<String>,
    taken: Vec<bool>,
}

/// A listener offered for the next upgrade: a duplicate of its descriptor.
pub(crate) struct Offered {
    pub(crate) name: String,
    pub(crate) addr: Option<SocketAddr>,
    pub(crate) fd: OwnedFd,
}

/// Reads the environment once. The runtime calls it before it starts any
/// thread (`listenfd` clears `LISTEN_FDS` and `LISTEN_PID`, so that
/// programs this one starts do not take the sockets for theirs).
pub(crate) fn init() {
    INHERITED.get_or_init(|| {
        let count = match std::env::var(LISTEN_FDS_ENV) {
            Err(_) => return Ok(Mutex::new(Inherited::none())),
            Ok(n) => n.trim().parse::<usize>().map_err(|_| {
                format!("invalid {LISTEN_FDS_ENV}={n}: expected the number of sockets handed down")
            })?,
        };
        let names: Vec<String> = match std::env::var(LISTEN_FDNAMES_ENV) {
            Ok(names) if !names.is_empty() => names.split(':').map(str::to_owned).collect(),
            _ => vec![String::new(); count],
        };
        if names.len() != count {
            return Err(format!(
                "{LISTEN_FDNAMES_ENV} names {} sockets, {LISTEN_FDS_ENV}={count}",
                names.len()
            ));
        }
        let for_us = std::env::var(LISTEN_PID_ENV)
            .map_or(true, |pid| pid.trim() == std::process::id().to_string());
        let fds = ListenFd::from_env();
        if !for_us || fds.len() != count {
            return Ok(Mutex::new(Inherited::none()));
        }
        let taken = vec![false; count];
        Ok(Mutex::new(Inherited { fds, names, taken }))
    });
}

impl Inherited {
    fn none() -> Inherited {
        Inherited {
            fds: ListenFd::empty(),
            names: Vec::new(),
            taken: Vec::new(),
        }
    }
}

/// The listening TCP socket handed down to this process for `addr`, if
/// any; each socket is handed out once. `addr` is an address
/// (`127.0.0.1:3000`, `[::]:80`) or the name systemd gives the socket
/// (`FileDescriptorName=` in the `.socket` unit).
///
/// A socket matches an address if their ports are the same (any port, if
/// `addr`'s port is 0) and their IPs are the same, or one of them is the
/// wildcard (`0.0.0.0`, `::`). An exact match is preferred.
///
/// An error says which variable is wrong (`LISTEN_FDS=abc`) or that the
/// matching descriptor is not a listening TCP socket.
///
/// ```
/// // Without LISTEN_FDS in the environment, nothing is handed down.
/// assert!(graceful::sockets::inherited("127.0.0.1:0")?.is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn inherited(addr: &str) -> io::Result<Option<TcpListener>> {
    init();
    let inherited = match INHERITED.get().expect("initialised above") {
        Ok(inherited) => inherited,
        Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidInput, e.clone())),
    };
    let mut inherited = lock(inherited);
    let wanted: Option<SocketAddr> = addr.parse().ok();
    let mut best: Option<(usize, bool)> = None;
    for idx in 0..inherited.taken.len() {
        if inherited.taken[idx] {
            continue;
        }
        if inherited.names[idx] == addr {
            best = Some((idx, true));
            break;
        }
        let (Some(wanted), Some(have)) = (wanted, local_addr(FIRST_FD + idx as RawFd)) else {
            continue;
        };
        if wanted == have {
            best = Some((idx, true));
            break;
        }
        if best.is_none() && matches(wanted, have) {
            best = Some((idx, false));
        }
    }
    let Some((idx, _)) = best else {
        return Ok(None);
    };
    inherited.taken[idx] = true;
    let listener = inherited.fds.take_tcp_listener(idx).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "{LISTEN_FDS_ENV}: socket {idx} (fd {}): {e}",
                FIRST_FD + idx as RawFd
            ),
        )
    })?;
    Ok(listener)
}

/// `have` serves what `wanted` asks for.
fn matches(wanted: SocketAddr, have: SocketAddr) -> bool {
    let any = |ip: IpAddr| ip.is_unspecified();
    let port = wanted.port() == 0 || wanted.port() == have.port();
    let ip = wanted.ip() == have.ip() || any(wanted.ip()) || any(have.ip());
    port && ip
}

fn local_addr(fd: RawFd) -> Option<SocketAddr> {
    let addr: SockaddrStorage = getsockname(fd).ok()?;
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::from((v4.ip(), v4.port())));
    }
    let v6 = addr.as_sockaddr_in6()?;
    Some(SocketAddr::from((v6.ip(), v6.port())))
}

/// Offers `listener` to the next binary of an [upgrade]: the new process
/// finds it with [`inherited`] (under `name`, or by address). The offer
/// holds a duplicate of the descriptor until the listener is
/// [withdrawn](withdraw), or the shutdown begins (then every offer is
/// dropped, so that closing a listener refuses new connections).
///
/// [upgrade]: crate::Runtime::upgrade_signal
///
/// ```
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// graceful::sockets::offer("http", &listener)?;
/// graceful::sockets::withdraw(&listener); // before closing it
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn offer(name: &str, listener: &impl AsFd) -> io::Result<()> {
    let fd = listener.as_fd().try_clone_to_owned()?;
    let addr = local_addr(fd.as_raw_fd());
    let name = name.replace(':', "_"); // LISTEN_FDNAMES is colon-separated
    lock(&OFFERED).push(Offered { name, addr, fd });
    Ok(())
}

/// Withdraws the offer of `listener` (by its address), as a server does
/// when it closes its listener.
///
/// ```
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// graceful::sockets::offer("admin", &listener)?;
/// // The admin endpoint closes: the next binary of an upgrade must not get it.
/// graceful::sockets::withdraw(&listener);
/// drop(listener);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn withdraw(listener: &impl AsFd) {
    let addr = local_addr(listener.as_fd().as_raw_fd());
    lock(&OFFERED).retain(|o| o.addr.is_none() || o.addr != addr);
}

/// Drops every offer: the shutdown began.
pub(crate) fn withdraw_all() {
    lock(&OFFERED).clear();
}

/// Duplicates of the offered sockets, for the next binary.
pub(crate) fn offered() -> io::Result<Vec<Offered>> {
    lock(&OFFERED)
        .iter()
        .map(|o| {
            Ok(Offered {
                name: o.name.clone(),
                addr: o.addr,
                fd: o.fd.try_clone()?,
            })
        })
        .collect()
}

/// Where the sockets of [`offered`] go in the new process: from fd 3 on.
pub(crate) const fn child_fd(index: usize) -> RawFd {
    FIRST_FD + index as RawFd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_match_by_port_and_ip_or_wildcard() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(matches(a("127.0.0.1:3000"), a("0.0.0.0:3000")));
        assert!(matches(a("0.0.0.0:3000"), a("127.0.0.1:3000")));
        assert!(matches(a("127.0.0.1:0"), a("127.0.0.1:41234")));
        assert!(!matches(a("127.0.0.1:3000"), a("127.0.0.1:3001")));
        assert!(!matches(a("127.0.0.1:3000"), a("10.0.0.1:3000")));
    }
}
