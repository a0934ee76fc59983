//! The operating system's signals, heard from the first moment of `run`.
//!
//! On Unix each delivery of a handled signal makes its handler send one
//! datagram to a socket of that signal's own (signal-hook's self-pipe),
//! which the kernel stamps with the time it was sent (`SO_TIMESTAMP`). One
//! thread, `graceful signals`, waits on all of these sockets at once
//! (`poll(2)`) and reads every datagram waiting in each that is ready. So
//! no delivery is lost or merged with another (tokio's signal streams merge
//! the deliveries that fall between two polls), the time of each is when
//! the handler ran, whatever the load on the runtime or the scheduler, a
//! signal that arrives before the runtime exists is kept until the
//! supervisor reads it, and the signals cost the process one OS thread
//! however many it hears: a `current_thread` program runs on 2 OS
//! threads, a multi-thread one on its workers, the thread that blocks on
//! the runtime, and this one.
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
    installed: Mutex<Installed>,
}

/// The handlers, and what reads their deliveries.
struct Installed {
    handlers: Vec<(Heard, platform::Handler)>,
    reader: platform::Reader,
}

impl Handlers {
    /// Installs `heard`'s handler, unless it is installed already.
    pub(crate) fn hear(&self, heard: Heard) -> std::io::Result<()> {
        let mut installed = lock(&self.installed);
        if !installed.handlers.iter().any(|(h, _)| *h == heard) {
            let handler = installed.reader.install(heard)?;
            installed.handlers.push((heard, handler));
        }
        Ok(())
    }
}

impl Drop for Handlers {
    fn drop(&mut self) {
        let installed = self
            .installed
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (_, handler) in installed.handlers.drain(..) {
            installed.reader.remove(handler);
        }
        // The reader is dropped next, once every handler is removed.
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
/// this is the only thread; the reading thread, started meanwhile, keeps
/// the signals blocked.
pub(crate) fn listen(
    heard: impl IntoIterator<Item = Heard>,
) -> std::io::Result<(Arc<Handlers>, mpsc::UnboundedReceiver<Delivery>)> {
    let heard: Vec<Heard> = heard.into_iter().collect();
    let (tx, deliveries) = mpsc::unbounded_channel();
    let handlers = Arc::new(Handlers {
        installed: Mutex::new(Installed {
            handlers: Vec::new(),
            reader: platform::Reader::new(tx),
        }),
    });
    let _blocked = platform::Blocked::new(&heard)?;
    for heard in heard {
        handlers.hear(heard)?;
    }
    Ok((handlers, deliveries))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use nix::sys::signal::{Signal::SIGHUP, Signal::SIGQUIT, raise};

    /// Real signals, raised on this thread (each handler has run when
    /// `raise` returns): a burst of 20 is 20 deliveries, and a handler
    /// added while the thread waits is heard too, after them; dropping the
    /// handlers ends the thread.
    #[test]
    fn raised_signals_are_each_a_delivery() {
        let quit = Heard::Signal(Signal::Quit);
        let (handlers, mut deliveries) = listen([quit]).unwrap();
        for _ in 0..20 {
            raise(SIGQUIT).unwrap();
        }
        let hangup = Heard::Signal(Signal::Hangup);
        handlers.hear(hangup).unwrap();
        raise(SIGHUP).unwrap();
        let heard: Vec<Heard> = (0..21)
            .map(|_| deliveries.blocking_recv().unwrap().heard)
            .collect();
        let mut expected = vec![quit; 20];
        expected.push(hangup);
        assert_eq!(heard, expected);
        drop(handlers);
        assert!(deliveries.blocking_recv().is_none(), "the thread ended");
    }
}

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;
