//! The Unix handlers: one self-pipe datagram socket per signal, read by
//! one thread that polls them all.

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt::ReceiveTimestamp,
};
use nix::sys::time::TimeVal;

use signal_hook::SigId;
use tokio::sync::mpsc::UnboundedSender;

use super::{Delivery, Heard};

/// The handler, and a clone of the socket it writes to, to take that
/// socket from the reading thread once the handler is removed.
pub(super) type Handler = (SigId, UnixDatagram);

/// What the reading thread reads from a handler's socket: the handler
/// writes one byte per delivery (and an empty probe when registered);
/// `remove` writes this, after the handler is gone.
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

/// The one thread that reads the sockets of every handler, started
/// with the first handler; it ends when this is dropped.
pub(super) struct Reader {
    tx: UnboundedSender<Delivery>,
    thread: Option<Thread>,
}

/// The running thread, and how to hand it a socket while it waits.
struct Thread {
    /// The sockets to add; dropped to end the thread.
    add: Sender<Source>,
    /// One byte here wakes the thread to take what `add` holds.
    wake: UnixDatagram,
    handle: JoinHandle<()>,
}

/// A handler's socket, and what its deliveries are.
struct Source {
    heard: Heard,
    socket: UnixDatagram,
}

impl Reader {
    pub(super) fn new(tx: UnboundedSender<Delivery>) -> Reader {
        Reader { tx, thread: None }
    }

    pub(super) fn install(&mut self, heard: Heard) -> std::io::Result<Handler> {
        let (read, write) = UnixDatagram::pair()?;
        setsockopt(&read, ReceiveTimestamp, &true)?;
        let stop = write.try_clone()?;
        // Handed to the thread before the handler exists, so that a
        // failed registration only has to take it back (`STOP`).
        self.add(heard, read)?;
        match signal_hook::low_level::pipe::register(number(heard), write) {
            Ok(id) => Ok((id, stop)),
            Err(e) => {
                let _ = stop.send(STOP);
                Err(e)
            }
        }
    }

    /// Has the thread (started if need be) read `socket` too.
    fn add(&mut self, heard: Heard, socket: UnixDatagram) -> std::io::Result<()> {
        let thread = match &mut self.thread {
            Some(thread) => thread,
            None => self.thread.insert(Thread::start(self.tx.clone())?),
        };
        thread
            .add
            .send(Source { heard, socket })
            .map_err(|_| std::io::Error::other("the signals' thread ended"))?;
        thread.wake.send(b"+")?;
        Ok(())
    }

    /// Removes the handler; the thread forwards what its socket still
    /// holds, then stops reading it.
    pub(super) fn remove(&mut self, (id, stop): Handler) {
        // Once this returns, no handler of `id` is running or will run
        // (signal-hook waits for the handlers that hold the old table),
        // so `STOP` is the last datagram on this socket.
        signal_hook::low_level::unregister(id);
        let _ = stop.send(STOP);
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let Some(Thread { add, wake, handle }) = self.thread.take() else {
            return;
        };
        drop(add);
        if wake.send(b"-").is_ok() {
            let _ = handle.join();
        }
    }
}

impl Thread {
    fn start(tx: UnboundedSender<Delivery>) -> std::io::Result<Thread> {
        let (wake, woken) = UnixDatagram::pair()?;
        let (add, added) = channel();
        // The thread inherits this one's signal mask: started by
        // `listen`, it keeps `listen`'s signals blocked, so their
        // handlers run elsewhere. One that runs here (a signal added
        // later) only interrupts `poll`, which waits again.
        let handle = std::thread::Builder::new()
            .name("graceful signals".into())
            .stack_size(64 * 1024)
            .spawn(move || read_all(&woken, &added, &tx))?;
        Ok(Thread { add, wake, handle })
    }
}

/// The thread: waits until a socket is ready and forwards every
/// delivery it holds; takes the sockets added meanwhile; ends once the
/// `Reader` is dropped.
fn read_all(woken: &UnixDatagram, added: &Receiver<Source>, tx: &UnboundedSender<Delivery>) {
    let mut sources: Vec<Source> = Vec::new();
    loop {
        let ready: Vec<bool> = {
            let sockets = std::iter::once(woken).chain(sources.iter().map(|s| &s.socket));
            let mut fds: Vec<PollFd<'_>> = sockets
                .map(|socket| PollFd::new(socket.as_fd(), PollFlags::POLLIN))
                .collect();
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(error) => {
                    tracing::error!(%error, "cannot wait for signals: no more are heard");
                    return;
                }
            }
            // Readable, or an error that the read then meets.
            fds.iter().map(|fd| fd.any().unwrap_or(true)).collect()
        };
        // `ready` follows `sources` as they were polled; the sockets
        // added below come after.
        let mut ready_sockets = ready[1..].iter();
        sources.retain(|source| {
            let ready = ready_sockets.next().copied().unwrap_or(false);
            !ready || forward(source, tx)
        });
        if ready[0] {
            // Interrupted, the byte stays, and wakes the next `poll`.
            let _ = woken.recv(&mut [0u8; 8]);
            // Each wake is one byte after one `add` or the end: take
            // them all, whichever wake this is.
            loop {
                match added.try_recv() {
                    Ok(source) => sources.push(source),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        // The handlers are removed: what their sockets
                        // still hold, up to each STOP, goes out.
                        for source in &sources {
                            forward(source, tx);
                        }
                        return;
                    }
                }
            }
        }
    }
}

/// Forwards every delivery waiting in `source`'s socket; `false` once
/// it is to be read no more.
fn forward(source: &Source, tx: &UnboundedSender<Delivery>) -> bool {
    loop {
        match receive(&source.socket) {
            Received::Sent(at) => {
                // Nobody listens any more: the thread goes on reading
                // until the handlers are removed.
                let _ = tx.send(Delivery {
                    heard: source.heard,
                    at,
                });
            }
            Received::Nothing => return true,
            Received::Stop | Received::Failed => return false,
        }
    }
}

/// What one read of a handler's socket found.
#[derive(Debug, PartialEq)]
pub(super) enum Received {
    /// A delivery, with when its handler sent it.
    Sent(Instant),
    /// No more datagrams for now.
    Nothing,
    /// The handler was removed.
    Stop,
    /// The socket cannot be read.
    Failed,
}

/// Reads the next datagram waiting in `socket`, without waiting, and
/// returns when its handler sent it as an `Instant` (the time it was
/// read, if the kernel gave no timestamp).
pub(super) fn receive(socket: &UnixDatagram) -> Received {
    let mut bytes = [0u8; 8];
    let mut space = nix::cmsg_space!(TimeVal);
    let (sent, len) = loop {
        let mut iov = [IoSliceMut::new(&mut bytes)];
        let fd = socket.as_raw_fd();
        match recvmsg::<()>(fd, &mut iov, Some(&mut space), MsgFlags::MSG_DONTWAIT) {
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Received::Nothing,
            Err(_) => return Received::Failed,
            // signal-hook's probe when it registered the handler.
            Ok(msg) if msg.bytes == 0 => continue,
            Ok(msg) => break (timestamp(&msg), msg.bytes),
        }
    };
    if bytes[..len] == *STOP {
        return Received::Stop;
    }
    let (now, wall) = (std::time::Instant::now(), SystemTime::now());
    let ago = sent.and_then(|sent| wall.duration_since(sent).ok());
    let at = ago.map_or(now, |ago| now.checked_sub(ago).unwrap_or(now));
    Received::Sent(Instant::from_std(at))
}

fn timestamp(msg: &nix::sys::socket::RecvMsg<'_, '_, ()>) -> Option<SystemTime> {
    msg.cmsgs().ok()?.find_map(|c| match c {
        ControlMessageOwned::ScmTimestamp(tv) => {
            Some(UNIX_EPOCH + Duration::new(tv.tv_sec() as u64, tv.tv_usec() as u32 * 1000))
        }
        _ => None,
    })
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
        let Received::Sent(at) = receive(&read) else {
            panic!("no delivery");
        };
        assert!(at <= sent, "stamped {:?} after it was sent", at - sent);
        assert!(sent - at < Duration::from_millis(50), "{:?}", sent - at);
        assert_eq!(receive(&read), Received::Nothing);
        write.send(STOP).unwrap();
        assert_eq!(receive(&read), Received::Stop);
    }

    /// A socket as a handler's: the read half for the thread, the write
    /// half to send deliveries on, as the handler would.
    fn socket() -> (UnixDatagram, UnixDatagram) {
        let (read, write) = UnixDatagram::pair().unwrap();
        setsockopt(&read, ReceiveTimestamp, &true).unwrap();
        (read, write)
    }

    /// One thread reads several sockets, each delivery apart however
    /// many wait at once, a socket added while it waits too; a removed
    /// socket's deliveries are forwarded up to its removal; the thread
    /// ends when the reader is dropped.
    #[test]
    fn one_thread_reads_every_socket_and_merges_nothing() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut reader = Reader::new(tx);
        let terminate = Heard::Signal(crate::Signal::Terminate);
        let dump = Heard::Signal(crate::Signal::User1);
        let (read, user1) = socket();
        reader.add(dump, read).unwrap();
        let (read, term) = socket();
        reader.add(terminate, read).unwrap();
        // A burst, then another kind at once.
        for _ in 0..20 {
            user1.send(b"X").unwrap();
        }
        term.send(b"X").unwrap();
        let got: Vec<Delivery> = (0..21).map(|_| rx.blocking_recv().unwrap()).collect();
        let count = |heard| got.iter().filter(|d| d.heard == heard).count();
        assert_eq!((count(dump), count(terminate)), (20, 1), "{got:?}");
        let dumps: Vec<Instant> = got
            .iter()
            .filter(|d| d.heard == dump)
            .map(|d| d.at)
            .collect();
        // In order, to the stamp's precision: the kernel stamps in
        // microseconds of the wall clock, and each conversion to the
        // monotonic one reads both clocks anew (nanoseconds apart).
        let precision = Duration::from_micros(1);
        assert!(dumps.is_sorted_by(|a, b| *a <= *b + precision), "{dumps:?}");

        // The thread is back in `poll`: a socket added now is read.
        let hangup = Heard::Signal(crate::Signal::Hangup);
        let (read, hup) = socket();
        reader.add(hangup, read).unwrap();
        hup.send(b"X").unwrap();
        assert_eq!(rx.blocking_recv().unwrap().heard, hangup);

        // Removed: what it held goes out, nothing after. (Sockets are
        // read in turn: deliveries keep their order within a signal,
        // not across signals sent microseconds apart.)
        user1.send(b"X").unwrap();
        user1.send(STOP).unwrap();
        let _ = user1.send(b"X"); // not read: see the end
        hup.send(b"X").unwrap();
        let mut two =
            [rx.blocking_recv().unwrap(), rx.blocking_recv().unwrap()].map(|d| number(d.heard));
        two.sort();
        assert_eq!(two, [number(hangup), number(dump)]);

        // Sent before the end: forwarded; then the thread has ended
        // (dropping the reader joins it) and its sender with it, and
        // nothing else came.
        term.send(b"X").unwrap();
        drop(reader);
        assert_eq!(rx.blocking_recv().unwrap().heard, terminate);
        assert!(rx.blocking_recv().is_none());
    }
}
