//! Listening sockets that outlive a process: those handed down at start
//! (systemd's socket activation, or the old process of an
//! [upgrade](crate::Runtime::upgrade_signal)), and those a runtime offers
//! to the next binary when it upgrades.
//!
//! [`graceful::http::serve`](https://docs.rs/gracefully/latest/graceful/http/fn.serve.html)
//! and [`bind`](https://docs.rs/gracefully/latest/graceful/http/fn.bind.html)
//! do all of it; a server of another kind (gRPC, a raw TCP protocol)
//! calls [`inherited`] before it binds and [`offer`] after.
//!
//! The protocol is systemd's: `LISTEN_FDS=n` sockets from fd 3 on, for the
//! process `LISTEN_PID` (required: sockets for another process, or for
//! none, are left alone), named by `LISTEN_FDNAMES` (colon-separated,
//! optional). The start of the runtime (`run`, `block_on`, `supervise`,
//! `#[graceful::main]`) reads them once, before it starts a thread, and
//! never changes the environment; descriptors are taken on Linux (where
//! systemd is).

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

use nix::sys::socket::{SockaddrStorage, getsockname};

use super::inherited::{self, LISTEN_FDS_ENV as FDS};
use crate::context::Context;
use crate::sync::lock;

/// The environment variable with the number of sockets handed down.
///
/// ```
/// assert_eq!(graceful::sockets::LISTEN_FDS_ENV, "LISTEN_FDS");
/// ```
pub const LISTEN_FDS_ENV: &str = FDS;
/// The first socket handed down (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// The listening TCP socket handed down to this process for `addr`, if
/// any; each socket is handed out once. `addr` is an address
/// (`127.0.0.1:3000`, `[::]:80`) or the name systemd gives the socket
/// (`FileDescriptorName=` in the `.socket` unit).
///
/// A socket matches an address if their ports are the same (any port, if
/// `addr`'s port is 0) and their IPs are the same, or one of them is the
/// wildcard (`0.0.0.0`, `::`). An exact match is preferred.
///
/// What is handed down is what the start of a runtime read: called before
/// any (or in a program that has none, such as a plain `#[tokio::main]`),
/// it finds nothing, `Ok(None)`; it never reads the environment itself.
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
    let wanted: Option<SocketAddr> = addr.parse().ok();
    let pick = |candidates: &mut dyn Iterator<Item = (usize, &str, &OwnedFd)>| {
        let mut best = None;
        for (idx, name, fd) in candidates {
            if name == addr {
                return Some(idx);
            }
            let (Some(wanted), Some(have)) = (wanted, local_addr(fd.as_raw_fd())) else {
                continue;
            };
            if wanted == have {
                return Some(idx);
            }
            if best.is_none() && matches(wanted, have) {
                best = Some(idx);
            }
        }
        best
    };
    inherited::take_socket(pick, |idx, fd| {
        tcp_stream_socket(fd).map_err(|e| {
            let fd = FIRST_FD + idx as RawFd;
            io::Error::new(e.kind(), format!("{FDS}: socket {idx} (fd {fd}): {e}"))
        })
    })
}

/// Whether `fd` is a TCP socket (IPv4 or IPv6, of type stream).
fn tcp_stream_socket(fd: &OwnedFd) -> io::Result<()> {
    use nix::sys::socket::{SockType, getsockopt, sockopt};
    let stream = getsockopt(fd, sockopt::SockType).map_err(io::Error::from)? == SockType::Stream;
    if stream && local_addr(fd.as_raw_fd()).is_some() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "not a TCP stream socket",
    ))
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

/// Offers `listener` to the next binary of an [upgrade] of `ctx`'s
/// runtime: the new process finds it with [`inherited`] (under `name`, or
/// by address). The offer holds a duplicate of the descriptor until the
/// listener is [withdrawn](withdraw), or the runtime's shutdown begins
/// (then every offer of that runtime is dropped, so that closing a
/// listener refuses new connections). Another runtime of the process has
/// offers of its own.
///
/// [upgrade]: crate::Runtime::upgrade_signal
///
/// ```
/// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// graceful::sockets::offer(&ctx, "http", &listener)?;
/// graceful::sockets::withdraw(&ctx, &listener); // before closing it
/// # ctx.shutdown();
/// # Ok::<(), std::io::Error>(())
/// # });
/// ```
pub fn offer(ctx: &Context, name: &str, listener: &impl AsFd) -> io::Result<()> {
    let fd = listener.as_fd().try_clone_to_owned()?;
    let addr = local_addr(fd.as_raw_fd());
    let name = name.replace(':', "_"); // LISTEN_FDNAMES is colon-separated
    lock(&super::offers(ctx.process()).0).push(Offered { name, addr, fd });
    Ok(())
}

/// Withdraws the offer of `listener` (by its address) from `ctx`'s
/// runtime, as a server does when it closes its listener.
///
/// ```
/// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// graceful::sockets::offer(&ctx, "admin", &listener)?;
/// // The admin endpoint closes: the next binary of an upgrade must not get it.
/// graceful::sockets::withdraw(&ctx, &listener);
/// drop(listener);
/// # ctx.shutdown();
/// # Ok::<(), std::io::Error>(())
/// # });
/// ```
pub fn withdraw(ctx: &Context, listener: &impl AsFd) {
    let addr = local_addr(listener.as_fd().as_raw_fd());
    lock(&super::offers(ctx.process()).0).retain(|o| o.addr.is_none() || o.addr != addr);
}

/// The sockets one runtime offers to the next binary of its upgrade.
#[derive(Default)]
pub(super) struct Offers(Mutex<Vec<Offered>>);

/// A listener offered for the next upgrade: a duplicate of its descriptor.
pub(super) struct Offered {
    pub(super) name: String,
    addr: Option<SocketAddr>,
    pub(super) fd: OwnedFd,
}

impl Offers {
    /// Drops every offer: the shutdown began.
    pub(super) fn clear(&self) {
        lock(&self.0).clear();
    }

    /// Duplicates of the offered sockets, for the next binary.
    pub(super) fn duplicates(&self) -> io::Result<Vec<Offered>> {
        lock(&self.0)
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

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        lock(&self.0).len()
    }
}

/// Where the sockets of [`Offers::duplicates`] go in the new process:
/// from fd 3 on.
pub(super) const fn child_fd(index: usize) -> RawFd {
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
