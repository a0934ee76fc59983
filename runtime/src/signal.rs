//! The operating-system signals that start a shutdown, and the listener that
//! turns them into messages for the supervisor.

use std::fmt;
use std::str::FromStr;

use tokio::sync::mpsc;

/// A signal that can trigger a graceful shutdown.
///
/// On Unix the default set is [`Signal::Interrupt`] (`SIGINT`, Ctrl-C) and
/// [`Signal::Terminate`] (`SIGTERM`, what container runtimes and systemd
/// send). On Windows it is every console event: Ctrl-C, Ctrl-Break,
/// Ctrl-Close and Ctrl-Shutdown.
///
/// ```
/// use graceful_runtime::Signal;
/// # #[cfg(unix)] {
/// let hup: Signal = "SIGHUP".parse().unwrap();
/// assert_eq!(hup, Signal::Hangup);
/// assert_eq!(hup.number(), 1);
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// `SIGINT` (2): Ctrl-C in a terminal.
    #[cfg(unix)]
    Interrupt,
    /// `SIGTERM` (15): the polite stop of `kill`, Kubernetes, Docker and systemd.
    #[cfg(unix)]
    Terminate,
    /// `SIGQUIT` (3).
    #[cfg(unix)]
    Quit,
    /// `SIGHUP` (1).
    #[cfg(unix)]
    Hangup,
    /// `SIGUSR1` (10 on Linux).
    #[cfg(unix)]
    User1,
    /// `SIGUSR2` (12 on Linux).
    #[cfg(unix)]
    User2,
    /// Ctrl-C in a Windows console.
    #[cfg(windows)]
    CtrlC,
    /// Ctrl-Break in a Windows console.
    #[cfg(windows)]
    CtrlBreak,
    /// The console window is being closed.
    #[cfg(windows)]
    CtrlClose,
    /// The system is shutting down.
    #[cfg(windows)]
    CtrlShutdown,
}

impl Signal {
    /// Every signal this platform supports, in a stable order.
    #[cfg(unix)]
    pub const ALL: &'static [Signal] = &[
        Signal::Interrupt,
        Signal::Terminate,
        Signal::Quit,
        Signal::Hangup,
        Signal::User1,
        Signal::User2,
    ];
    /// Every signal this platform supports, in a stable order.
    #[cfg(windows)]
    pub const ALL: &'static [Signal] = &[
        Signal::CtrlC,
        Signal::CtrlBreak,
        Signal::CtrlClose,
        Signal::CtrlShutdown,
    ];

    /// The signals a [`Runtime`](crate::Runtime) listens to unless told otherwise.
    #[cfg(unix)]
    pub const DEFAULT: &'static [Signal] = &[Signal::Interrupt, Signal::Terminate];
    /// The signals a [`Runtime`](crate::Runtime) listens to unless told otherwise.
    #[cfg(windows)]
    pub const DEFAULT: &'static [Signal] = Signal::ALL;

    /// The conventional name, such as `"SIGTERM"` or `"ctrl_c"`.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(unix)]
            Signal::Interrupt => "SIGINT",
            #[cfg(unix)]
            Signal::Terminate => "SIGTERM",
            #[cfg(unix)]
            Signal::Quit => "SIGQUIT",
            #[cfg(unix)]
            Signal::Hangup => "SIGHUP",
            #[cfg(unix)]
            Signal::User1 => "SIGUSR1",
            #[cfg(unix)]
            Signal::User2 => "SIGUSR2",
            #[cfg(windows)]
            Signal::CtrlC => "ctrl_c",
            #[cfg(windows)]
            Signal::CtrlBreak => "ctrl_break",
            #[cfg(windows)]
            Signal::CtrlClose => "ctrl_close",
            #[cfg(windows)]
            Signal::CtrlShutdown => "ctrl_shutdown",
        }
    }

    /// The signal's number; a forced exit uses `128 + number` as its exit code
    /// (130 for `SIGINT`, 143 for `SIGTERM`). Windows events map to the
    /// numbers of their closest Unix cousins.
    pub fn number(self) -> i32 {
        match self {
            #[cfg(unix)]
            Signal::Interrupt => 2,
            #[cfg(unix)]
            Signal::Terminate => 15,
            #[cfg(unix)]
            Signal::Quit => 3,
            #[cfg(unix)]
            Signal::Hangup => 1,
            #[cfg(unix)]
            Signal::User1 => tokio::signal::unix::SignalKind::user_defined1().as_raw_value(),
            #[cfg(unix)]
            Signal::User2 => tokio::signal::unix::SignalKind::user_defined2().as_raw_value(),
            #[cfg(windows)]
            Signal::CtrlC => 2,
            #[cfg(windows)]
            Signal::CtrlBreak => 21,
            #[cfg(windows)]
            Signal::CtrlClose | Signal::CtrlShutdown => 15,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown signal name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signal `{0}`, expected one of: {list}", list = known_names())]
pub struct UnknownSignal(pub String);

fn known_names() -> String {
    Signal::ALL
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Signal {
    type Err = UnknownSignal;

    /// Accepts the conventional name in any case, with or without the `SIG`
    /// prefix on Unix (`"SIGTERM"`, `"term"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        Signal::ALL
            .iter()
            .copied()
            .find(|sig| {
                let name = sig.name().to_ascii_uppercase();
                name == upper || name.strip_prefix("SIG") == Some(bare)
            })
            .ok_or_else(|| UnknownSignal(s.to_owned()))
    }
}

/// Installs a handler for every signal in `signals` and forwards each delivery.
///
/// The handlers are in place when this returns (so before any user code
/// runs); the returned receiver yields every signal received afterwards.
pub(crate) fn listen(signals: &[Signal]) -> std::io::Result<mpsc::UnboundedReceiver<Signal>> {
    let (tx, rx) = mpsc::unbounded_channel();
    for &sig in signals {
        platform::forward(sig, tx.clone())?;
    }
    Ok(rx)
}

#[cfg(unix)]
mod platform {
    use super::Signal;
    use tokio::signal::unix::{SignalKind, signal};
    use tokio::sync::mpsc::UnboundedSender;

    pub(super) fn forward(sig: Signal, tx: UnboundedSender<Signal>) -> std::io::Result<()> {
        let mut stream = signal(SignalKind::from_raw(sig.number()))?;
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(sig).is_err() {
                    break;
                }
            }
        });
        Ok(())
    }
}

#[cfg(windows)]
mod platform {
    use super::Signal;
    use tokio::signal::windows;
    use tokio::sync::mpsc::UnboundedSender;

    macro_rules! forward_with {
        ($listener:expr, $sig:expr, $tx:expr) => {{
            let mut stream = $listener?;
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    if $tx.send($sig).is_err() {
                        break;
                    }
                }
            });
        }};
    }

    pub(super) fn forward(sig: Signal, tx: UnboundedSender<Signal>) -> std::io::Result<()> {
        match sig {
            Signal::CtrlC => forward_with!(windows::ctrl_c(), sig, tx),
            Signal::CtrlBreak => forward_with!(windows::ctrl_break(), sig, tx),
            Signal::CtrlClose => forward_with!(windows::ctrl_close(), sig, tx),
            Signal::CtrlShutdown => forward_with!(windows::ctrl_shutdown(), sig, tx),
        }
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn parses_names_in_any_spelling() {
        assert_eq!("SIGTERM".parse(), Ok(Signal::Terminate));
        assert_eq!("sigint".parse(), Ok(Signal::Interrupt));
        assert_eq!("hup".parse(), Ok(Signal::Hangup));
        assert_eq!(" SIGUSR2 ".parse(), Ok(Signal::User2));
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let err = "SIGKILL".parse::<Signal>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown signal `SIGKILL`, expected one of: SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2"
        );
    }

    #[test]
    fn forced_exit_codes_follow_the_shell_convention() {
        assert_eq!(128 + Signal::Interrupt.number(), 130);
        assert_eq!(128 + Signal::Terminate.number(), 143);
    }
}
