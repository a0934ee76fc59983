//! The operating system's signals, heard from the first moment of `run`.
//!
//! On Unix each delivery of a handled signal makes its handler send one
//! datagram to a socket (signal-hook's self-pipe), which the kernel stamps
//! with the time it was sent (`SO_TIMESTAMP`); a thread of its own per
//! signal reads it. So no delivery is lost or merged with another (tokio's
//! signal streams merge the deliveries that fall between two polls), the
//! time of each is when the handler ran, whatever the load on the runtime
//! or the scheduler, and a signal that arrives before the runtime exists is
//! kept until the supervisor reads it.
//!
//! Deliveries are stamped in tokio's time, so that a test under a paused
//! clock, which delivers its own, compares virtual times throughout.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::signal::Signal;
use crate::sync::lock;

/// What was heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Heard {
    /// One of the signals a [`Signal`] names.
    Signal(Signal),
    /// `SIGXFSZ`: a write went past the file-size limit. Heard rather than
    /// left to its default action (the end of the process), so that the
    /// write fails with `EFBIG` and the code that wrote can handle it.
    #[cfg(unix)]
    FileTooLarge,
}

/// One delivery, stamped when its handler ran (or a test sent it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delivery {
    pub(crate) heard: Heard,
    pub(crate) at: Instant,
}

/// The installed handlers; more can be added while the process runs (the
/// reload signal, once a reload hook exists). Dropping the last reference
/// removes them.
pub(crate) struct Handlers {
    tx: mpsc::UnboundedSender<Delivery>,
    installed: Mutex<Vec<(Heard, platform::Handler)>>,
}

impl Handlers {
    /// Installs `heard`'s handler, unless it is installed already.
    pub(crate) fn hear(&self, heard: Heard) -> std::io::Result<()> {
        let mut installed = lock(&self.installed);
        if !installed.iter().any(|(h, _)| *h == heard) {
            let handler = platform::install(heard, self.tx.clone())?;
            installed.push((heard, handler));
        }
        Ok(())
    }
}

impl Drop for Handlers {
    fn drop(&mut self) {
        for (_, handler) in lock(&self.installed).drain(..) {
            platform::remove(handler);
        }
    }
}

/// Installs the handlers of `heard` and returns them with the deliveries.
///
/// On Unix the signals are blocked on this thread while their handlers are
/// installed: signal-hook installs a handler a moment before it can find
/// the action to run, and a signal delivered in between would be neither
/// heard nor given its default action, but lost (a SIGTERM in the first
/// milliseconds of a process, 6 in 9 000 starts here: the process
/// went on as if nothing had come). Blocked, it waits, and is heard once
/// the handlers are in place. This covers the start of a program, where
/// this is the only thread; the reading threads, started meanwhile, keep
/// the signals blocked.
pub(crate) fn listen(
    heard: impl IntoIterator<Item = Heard>,
) -> std::io::Result<(Arc<Handlers>, mpsc::UnboundedReceiver<Delivery>)> {
    let heard: Vec<Heard> = heard.into_iter().collect();
    let (tx, deliveries) = mpsc::unbounded_channel();
    let handlers = Arc::new(Handlers {
        tx,
        installed: Mutex::default(),
    });
    let _blocked = platform::Blocked::new(&heard)?;
    for heard in heard {
        handlers.hear(heard)?;
    }
    Ok((handlers, deliveries))
}

#[cfg(unix)]
mod platform {
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixDatagram;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use tokio::time::Instant;

    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    use nix::sys::socket::{
        ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt::ReceiveTimestamp,
    };
    use nix::sys::time::TimeVal;

    use signal_hook::SigId;
    use tokio::sync::mpsc::UnboundedSender;

    use super::{Delivery, Heard};

    /// The handler, and a clone of the socket it writes to, to stop the
    /// reading thread once the handler is removed.
    pub(super) type Handler = (SigId, UnixDatagram);

    /// What the reading thread reads: the handler writes one byte per
    /// delivery (and an empty probe when registered); `remove` writes this.
    const STOP: &[u8] = b"stop";

    fn number(heard: Heard) -> i32 {
        match heard {
            Heard::Signal(sig) => sig.number(),
            Heard::FileTooLarge => signal_hook::consts::SIGXFSZ,
        }
    }

    /// Signals blocked on this thread until dropped (see `listen`).
    pub(super) struct Blocked(SigSet);

    impl Blocked {
        pub(super) fn new(heard: &[Heard]) -> std::io::Result<Blocked> {
            let mut set = SigSet::empty();
            for &heard in heard {
                set.add(Signal::try_from(number(heard)).map_err(std::io::Error::from)?);
            }
            let mut before = SigSet::empty();
            pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut before))?;
            Ok(Blocked(before))
        }
    }

    impl Drop for Blocked {
        fn drop(&mut self) {
            // What arrived meanwhile is delivered here, to the handlers now
            // installed.
            let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.0), None);
        }
    }

    pub(super) fn install(heard: Heard, tx: UnboundedSender<Delivery>) -> std::io::Result<Handler> {
        let number = number(heard);
        let (read, write) = UnixDatagram::pair()?;
        setsockopt(&read, ReceiveTimestamp, &true)?;
        let stop = write.try_clone()?;
        let id = signal_hook::low_level::pipe::register(number, write)?;
        std::thread::Builder::new()
            .name(format!("graceful signal {number}"))
            .stack_size(64 * 1024)
            .spawn(move || {
                // Ends when the handler is removed or nobody listens any more.
                while let Some(at) = next_delivery(&read) {
                    if tx.send(Delivery { heard, at }).is_err() {
                        return;
                    }
                }
            })?;
        Ok((id, stop))
    }

    /// Waits for the next delivery and returns when its handler sent it,
    /// as an `Instant` (the time it was read, if the kernel gave no
    /// timestamp); `None` once told to stop.
    pub(super) fn next_delivery(socket: &UnixDatagram) -> Option<Instant> {
        let mut bytes = [0u8; 8];
        let mut space = nix::cmsg_space!(TimeVal);
        let (sent, len) = loop {
            let mut iov = [IoSliceMut::new(&mut bytes)];
            let fd = socket.as_raw_fd();
            match recvmsg::<()>(fd, &mut iov, Some(&mut space), MsgFlags::empty()) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return None,
                // signal-hook's probe when it registered the handler.
                Ok(msg) if msg.bytes == 0 => continue,
                Ok(msg) => break (timestamp(&msg), msg.bytes),
            }
        };
        if bytes[..len] == *STOP {
            return None;
        }
        let (now, wall) = (std::time::Instant::now(), SystemTime::now());
        let ago = sent.and_then(|sent| wall.duration_since(sent).ok());
        let at = ago.map_or(now, |ago| now.checked_sub(ago).unwrap_or(now));
        Some(Instant::from_std(at))
    }

    fn timestamp(msg: &nix::sys::socket::RecvMsg<'_, '_, ()>) -> Option<SystemTime> {
        msg.cmsgs().ok()?.find_map(|c| match c {
            ControlMessageOwned::ScmTimestamp(tv) => {
                Some(UNIX_EPOCH + Duration::new(tv.tv_sec() as u64, tv.tv_usec() as u32 * 1000))
            }
            _ => None,
        })
    }

    pub(super) fn remove((id, stop): Handler) {
        signal_hook::low_level::unregister(id);
        let _ = stop.send(STOP);
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The time of a delivery is when it was sent, not when it was read.
        #[test]
        fn deliveries_are_stamped_when_sent() {
            let (read, write) = UnixDatagram::pair().unwrap();
            setsockopt(&read, ReceiveTimestamp, &true).unwrap();
            write.send(b"").unwrap(); // the probe is skipped
            write.send(b"X").unwrap();
            let sent = Instant::now();
            std::thread::sleep(Duration::from_millis(120));
            let at = next_delivery(&read).unwrap();
            assert!(at <= sent, "stamped {:?} after it was sent", at - sent);
            assert!(sent - at < Duration::from_millis(50), "{:?}", sent - at);
            write.send(STOP).unwrap();
            assert_eq!(next_delivery(&read), None);
        }
    }
}

#[cfg(windows)]
mod platform {
    use tokio::signal::windows;
    use tokio::sync::mpsc::UnboundedSender;
    use tokio::sync::oneshot;
    use tokio::time::Instant;

    use super::{Delivery, Heard};
    use crate::signal::Signal;

    /// Stops the listening thread when dropped.
    pub(super) type Handler = oneshot::Sender<()>;

    /// Nothing to block: console events have no such window.
    pub(super) struct Blocked;

    impl Blocked {
        pub(super) fn new(_: &[Heard]) -> std::io::Result<Blocked> {
            Ok(Blocked)
        }
    }

    macro_rules! forward {
        ($listen:expr, $heard:expr, $tx:expr, $stop:expr) => {{
            let mut stream = $listen?;
            loop {
                tokio::select! {
                    Some(()) = stream.recv() => {
                        let at = Instant::from_std(std::time::Instant::now());
                        let _ = $tx.send(Delivery { heard: $heard, at });
                    }
                    _ = &mut $stop => return Ok::<(), std::io::Error>(()),
                }
            }
        }};
    }

    /// Console events need a tokio reactor: each is heard on a thread with
    /// a small runtime of its own, so it is heard before the main runtime
    /// exists too.
    pub(super) fn install(heard: Heard, tx: UnboundedSender<Delivery>) -> std::io::Result<Handler> {
        let (stop_tx, mut stop) = oneshot::channel();
        let (ready_tx, ready) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("graceful console events".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let rt = match rt {
                    Ok(rt) => rt,
                    Err(e) => return drop(ready_tx.send(Err(e))),
                };
                let _ = rt.block_on(async move {
                    let _ = ready_tx.send(Ok(()));
                    let Heard::Signal(sig) = heard;
                    match sig {
                        Signal::CtrlC => forward!(windows::ctrl_c(), heard, tx, stop),
                        Signal::CtrlBreak => forward!(windows::ctrl_break(), heard, tx, stop),
                        Signal::CtrlClose => forward!(windows::ctrl_close(), heard, tx, stop),
                        Signal::CtrlShutdown => forward!(windows::ctrl_shutdown(), heard, tx, stop),
                    }
                });
            })?;
        ready
            .recv()
            .map_err(|_| std::io::Error::other("the console listener ended"))??;
        Ok(stop_tx)
    }

    pub(super) fn remove(stop: Handler) {
        let _ = stop.send(());
    }
}
