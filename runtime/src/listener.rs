//! The operating system's signals, heard from the first moment of `run`.
//!
//! Each delivery of a handled signal makes its handler write one byte to a
//! socket (signal-hook's self-pipe); a thread of its own per signal reads
//! it and stamps it with the time it read it. So no delivery is lost or
//! merged with another (tokio's signal streams merge the deliveries that
//! fall between two polls), the time of each does not depend on how busy
//! the runtime is, and a signal that arrives before the runtime exists is
//! kept until the supervisor reads it.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::Instant;

use signal_hook::SigId;
use signal_hook::consts::SIGXFSZ;
use tokio::sync::mpsc;

use crate::signal::Signal;

/// What was heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Heard {
    /// One of the signals a [`Signal`] names.
    Signal(Signal),
    /// `SIGXFSZ`: a write went past the file-size limit. Heard rather than
    /// left to its default action (the end of the process), so that the
    /// write fails with `EFBIG` and the code that wrote can handle it.
    FileTooLarge,
}

/// One delivery, stamped when its thread read it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delivery {
    pub(crate) heard: Heard,
    pub(crate) at: Instant,
}

/// The installed handlers; dropping it removes them.
pub(crate) struct Listener {
    pub(crate) deliveries: mpsc::UnboundedReceiver<Delivery>,
    handlers: Vec<SigId>,
}

impl Listener {
    /// Installs a handler for each of `signals` (duplicates are heard
    /// once) and for `SIGXFSZ`, each with its reading thread.
    pub(crate) fn install(signals: &[Signal]) -> std::io::Result<Listener> {
        let (tx, deliveries) = mpsc::unbounded_channel();
        let mut listener = Listener {
            deliveries,
            handlers: Vec::new(),
        };
        let mut heard: Vec<Heard> = Vec::new();
        for &sig in signals {
            if !heard.contains(&Heard::Signal(sig)) {
                heard.push(Heard::Signal(sig));
            }
        }
        heard.push(Heard::FileTooLarge);
        for heard in heard {
            let number = match heard {
                Heard::Signal(sig) => sig.number(),
                Heard::FileTooLarge => SIGXFSZ,
            };
            let (mut read, write) = UnixStream::pair()?;
            listener
                .handlers
                .push(signal_hook::low_level::pipe::register(number, write)?);
            let tx = tx.clone();
            std::thread::Builder::new()
                .name(format!("graceful {}", number))
                .stack_size(64 * 1024)
                .spawn(move || {
                    let mut bytes = [0u8; 64];
                    // Ends when the handler is removed (the write end closes)
                    // or nobody listens any more.
                    while let Ok(n @ 1..) = read.read(&mut bytes) {
                        let at = Instant::now();
                        for _ in 0..n {
                            if tx.send(Delivery { heard, at }).is_err() {
                                return;
                            }
                        }
                    }
                })?;
        }
        Ok(listener)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        for id in self.handlers.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
