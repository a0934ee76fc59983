//! [`Source`]: where connections come from. [`serve`](super::serve) takes any
//! [`axum::serve::Listener`]; tokio's TCP and Unix domain socket listeners
//! are driven directly rather than through that trait, because its
//! `accept` hides errors (axum logs them and sleeps a second) and cannot
//! take the kernel's queue without waiting. Every other listener (one that
//! terminates TLS, one from `ListenerExt::tap_io`) is accepted through the
//! trait.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::{Context as Cx, Poll, Waker};

use gracefully_runtime::Context;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// At most this many connections already queued by the kernel are still
/// accepted when the listener stops.
const SWEEP: usize = super::BACKLOG as usize;

/// A listener as the server drives it.
pub(super) trait Source: Send + 'static {
    /// A connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// A peer's address, as handlers get it in `ConnectInfo`.
    type Addr: Clone + fmt::Debug + Send + Sync + 'static;

    /// The next connection; `Err` for a failed accept.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send;

    /// What the server listens on, for its task's name and its logs:
    /// `http://127.0.0.1:3000`, `unix:/run/app.sock`.
    fn name(&self) -> String;

    /// A peer, for the report of the requests in flight.
    fn peer(addr: &Self::Addr) -> String {
        format!("{addr:?}")
    }

    /// Readies a connection before it is served.
    fn prepare(_io: &Self::Io) {}

    /// Offers the listener to the next binary of an upgrade of `ctx`'s
    /// runtime, while it is served (a TCP listener, on Unix).
    fn offer(&self, _ctx: &Context) -> io::Result<()> {
        Ok(())
    }

    /// Withdraws that offer: the listener is about to close.
    fn withdraw(&self, _ctx: &Context) {}

    /// Hands `serve` the connections the kernel already completed (their
    /// clients think they are connected), at most [`SWEEP`], without
    /// waiting for more; then closes the listener: from here on, new
    /// connections are refused.
    fn sweep_and_close(mut self, mut serve: impl FnMut(Self::Io, Self::Addr))
    where
        Self: Sized,
    {
        for _ in 0..SWEEP {
            match now_or_never(self.accept()) {
                Some(Ok((io, addr))) => serve(io, addr),
                Some(Err(e)) if is_connection_error(&e) => {}
                Some(Err(_)) | None => break,
            }
        }
    }
}

impl Source for TcpListener {
    type Io = TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> io::Result<(TcpStream, Self::Addr)> {
        TcpListener::accept(self).await
    }

    fn name(&self) -> String {
        match self.local_addr() {
            Ok(addr) => format!("http://{addr}"),
            Err(_) => "http".to_owned(),
        }
    }

    fn peer(addr: &Self::Addr) -> String {
        addr.to_string()
    }

    fn prepare(io: &TcpStream) {
        let _ = io.set_nodelay(true);
    }

    #[cfg(unix)]
    fn offer(&self, ctx: &Context) -> io::Result<()> {
        gracefully_runtime::sockets::offer(ctx, &self.local_addr()?.to_string(), self)
    }

    #[cfg(unix)]
    fn withdraw(&self, ctx: &Context) {
        gracefully_runtime::sockets::withdraw(ctx, self);
    }

    fn sweep_and_close(self, mut serve: impl FnMut(TcpStream, Self::Addr)) {
        // Straight to the kernel: tokio's `accept` waits for the reactor to
        // report what the kernel already has.
        let Ok(listener) = self.into_std() else {
            return;
        };
        sweep_std(
            || listener.accept(),
            |(tcp, addr)| {
                if let Ok(tcp) = tcp
                    .set_nonblocking(true)
                    .and_then(|()| TcpStream::from_std(tcp))
                {
                    serve(tcp, addr);
                }
            },
        );
    }
}

#[cfg(unix)]
impl Source for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;
    type Addr = tokio::net::unix::SocketAddr;

    async fn accept(&mut self) -> io::Result<(Self::Io, Self::Addr)> {
        tokio::net::UnixListener::accept(self).await
    }

    fn name(&self) -> String {
        match self
            .local_addr()
            .map(|a| a.as_pathname().map(|p| p.display().to_string()))
        {
            Ok(Some(path)) => format!("unix:{path}"),
            _ => "unix".to_owned(),
        }
    }

    fn peer(addr: &Self::Addr) -> String {
        match addr.as_pathname() {
            Some(path) => format!("unix:{}", path.display()),
            None => "a unix socket".to_owned(),
        }
    }

    fn sweep_and_close(self, mut serve: impl FnMut(Self::Io, Self::Addr)) {
        let Ok(listener) = self.into_std() else {
            return;
        };
        sweep_std(
            || listener.accept(),
            |(unix, _)| {
                let unix = unix
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::UnixStream::from_std(unix));
                if let Ok(unix) = unix {
                    let addr = unix.peer_addr();
                    if let Ok(addr) = addr {
                        serve(unix, addr);
                    }
                }
            },
        );
    }
}

/// Any other [`axum::serve::Listener`]: it retries its own accept errors.
pub(super) struct Axum<L>(pub(super) L);

impl<L> Source for Axum<L>
where
    L: axum::serve::Listener,
    L::Addr: Clone + fmt::Debug + Sync + 'static,
{
    type Io = L::Io;
    type Addr = L::Addr;

    async fn accept(&mut self) -> io::Result<(L::Io, L::Addr)> {
        Ok(self.0.accept().await)
    }

    fn name(&self) -> String {
        match self.0.local_addr() {
            Ok(addr) => format!("{addr:?}"),
            Err(_) => "http".to_owned(),
        }
    }
}

/// Calls `then` with what one of tokio's listeners is: a TCP listener, a
/// Unix one, or any other, driven through its `Listener` trait.
pub(super) fn dispatch<L, R>(listener: L, then: impl Dispatch<R>) -> R
where
    L: axum::serve::Listener,
    L::Addr: Clone + fmt::Debug + Sync + 'static,
{
    let mut listener = Some(listener);
    let any: &mut dyn Any = &mut listener;
    if let Some(tcp) = any
        .downcast_mut::<Option<TcpListener>>()
        .and_then(Option::take)
    {
        return then.with(tcp);
    }
    #[cfg(unix)]
    if let Some(unix) = any
        .downcast_mut::<Option<tokio::net::UnixListener>>()
        .and_then(Option::take)
    {
        return then.with(unix);
    }
    match listener {
        Some(other) => then.with(Axum(other)),
        None => unreachable!("the listener was taken only when it matched"),
    }
}

/// What [`dispatch`] calls: a function generic over the [`Source`].
pub(super) trait Dispatch<R> {
    fn with<S: Source>(self, source: S) -> R;
}

/// Whether an error concerns only one connection, which its peer left (or
/// is a signal's interruption): a failed accept to skip, a connection that
/// ended without anything to report.
pub(super) fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::Interrupted
    )
}

/// Whether a failed accept means the listener is unusable.
pub(super) fn is_fatal(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::NotConnected | io::ErrorKind::Unsupported
    )
}

/// Accepts with a non-blocking standard listener until its queue is empty
/// (or [`SWEEP`] connections), then lets it drop: the listener closes.
fn sweep_std<T>(mut accept: impl FnMut() -> io::Result<T>, mut serve: impl FnMut(T)) {
    for _ in 0..SWEEP {
        match accept() {
            Ok(accepted) => serve(accepted),
            Err(e) if is_connection_error(&e) => {}
            Err(_) => break, // WouldBlock: the queue is empty
        }
    }
}

/// Polls `fut` once.
fn now_or_never<F: Future>(fut: F) -> Option<F::Output> {
    match pin!(fut).poll(&mut Cx::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
