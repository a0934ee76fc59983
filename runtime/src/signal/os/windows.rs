//! The Windows console events, each heard by tokio's listener.

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

/// Where the listening threads send what they hear.
pub(super) struct Reader {
    tx: UnboundedSender<Delivery>,
}

impl Reader {
    pub(super) fn new(tx: UnboundedSender<Delivery>) -> Reader {
        Reader { tx }
    }

    pub(super) fn install(&mut self, heard: Heard) -> std::io::Result<Handler> {
        install(heard, self.tx.clone())
    }

    pub(super) fn remove(&mut self, stop: Handler) {
        let _ = stop.send(());
    }
}

/// Console events need a tokio reactor: each is heard on a thread with
/// a small runtime of its own, so it is heard before the main runtime
/// exists too. (One thread per event, unlike Unix's one for all.)
fn install(heard: Heard, tx: UnboundedSender<Delivery>) -> std::io::Result<Handler> {
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
