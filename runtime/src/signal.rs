//! The signals: what they are called ([`Signal`]), what each one does
//! (`table`: the one table of signal -> action, and the window that makes
//! copies one request), how they are heard (`os`: the handlers, all read
//! on one OS thread) and how a name in `#[graceful::main(signals = [..])]`
//! is checked at compile time (`named`).

pub(crate) mod named;
pub(crate) mod os;
pub(crate) mod table;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A signal that can trigger a graceful shutdown.
///
/// On Unix the default set is [`Signal::Interrupt`] (`SIGINT`, Ctrl-C) and
/// [`Signal::Terminate`] (`SIGTERM`, what container runtimes and systemd
/// send). On Windows it is every console event: Ctrl-C, Ctrl-Break,
/// Ctrl-Close and Ctrl-Shutdown.
///
/// ```
/// use graceful::Signal;
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
    /// Copies of shutdown signals that arrive within this window of the first
    /// one are one request; a shutdown signal after it forces the exit.
    ///
    /// 50 ms: longer than the few milliseconds a wrapper, a terminal or a
    /// process manager takes to forward a signal, even on a loaded machine, and
    /// shorter than the fastest human double press of Ctrl-C (about 100 ms).
    ///
    /// ```
    /// assert_eq!(graceful::Signal::WINDOW, std::time::Duration::from_millis(50));
    /// ```
    pub const WINDOW: Duration = Duration::from_millis(50);

    /// Every signal this platform supports, in a stable order.
    ///
    /// ```
    /// use graceful::Signal;
    /// assert!(Signal::DEFAULT.iter().all(|s| Signal::ALL.contains(s)));
    /// ```
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
    ///
    /// ```
    /// use graceful::Signal;
    /// assert!(Signal::DEFAULT.iter().all(|s| Signal::ALL.contains(s)));
    /// ```
    #[cfg(windows)]
    pub const ALL: &'static [Signal] = &[
        Signal::CtrlC,
        Signal::CtrlBreak,
        Signal::CtrlClose,
        Signal::CtrlShutdown,
    ];

    /// The signal that prints the task dump unless told otherwise
    /// ([`Runtime::dump_signal`](crate::Runtime::dump_signal)).
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use graceful::Signal;
    /// assert_eq!(Signal::DUMP, Some(Signal::User1)); // kill -USR1 <pid>
    /// # }
    /// ```
    #[cfg(unix)]
    pub const DUMP: Option<Signal> = Some(Signal::User1);
    /// The signal that prints the task dump unless told otherwise: none.
    ///
    /// ```
    /// use graceful::Signal;
    /// # #[cfg(windows)]
    /// assert_eq!(Signal::DUMP, None);
    /// ```
    #[cfg(windows)]
    pub const DUMP: Option<Signal> = None;

    /// The signals a [`Runtime`](crate::Runtime) listens to unless told otherwise.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use graceful::Signal;
    /// assert_eq!(Signal::DEFAULT, [Signal::Interrupt, Signal::Terminate]);
    /// # }
    /// ```
    #[cfg(unix)]
    pub const DEFAULT: &'static [Signal] = &[Signal::Interrupt, Signal::Terminate];
    /// The signals a [`Runtime`](crate::Runtime) listens to unless told otherwise.
    ///
    /// ```
    /// use graceful::Signal;
    /// # #[cfg(windows)]
    /// assert_eq!(Signal::DEFAULT, Signal::ALL);
    /// ```
    #[cfg(windows)]
    pub const DEFAULT: &'static [Signal] = Signal::ALL;

    /// The conventional name, such as `"SIGTERM"` or `"ctrl_c"`.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use graceful::Signal;
    /// assert_eq!(Signal::Terminate.name(), "SIGTERM");
    /// assert_eq!(Signal::Terminate.to_string(), "SIGTERM");
    /// # }
    /// ```
    pub const fn name(self) -> &'static str {
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

    /// The signal of [`Signal::ALL`] called `name`, in any case, with or
    /// without the `SIG` prefix on Unix (`"SIGTERM"`, `"term"`). The one table
    /// of names: [`FromStr`] uses it, and the compiler checks the names of
    /// `#[graceful::main(signals = [..])]` with it.
    ///
    /// ```
    /// use graceful::Signal;
    /// # #[cfg(unix)] {
    /// const TERM: Option<Signal> = Signal::from_name("term");
    /// assert_eq!(TERM, Some(Signal::Terminate));
    /// assert_eq!(Signal::from_name("SIGKILL"), None);
    /// # }
    /// ```
    pub const fn from_name(name: &str) -> Option<Signal> {
        let written = name.trim_ascii().as_bytes();
        let mut i = 0;
        while i < Signal::ALL.len() {
            if names_match(Signal::ALL[i].name().as_bytes(), written) {
                return Some(Signal::ALL[i]);
            }
            i += 1;
        }
        None
    }

    /// The signal's number; a forced exit uses `128 + number` as its exit code
    /// (130 for `SIGINT`, 143 for `SIGTERM`). Windows events map to the
    /// numbers of their closest Unix cousins.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use graceful::Signal;
    /// assert_eq!(Signal::Interrupt.number(), 2); // a forced exit after it: 130
    /// assert_eq!(Signal::Terminate.number(), 15); // 143
    /// # }
    /// ```
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
            Signal::User1 => signal_hook::consts::SIGUSR1,
            #[cfg(unix)]
            Signal::User2 => signal_hook::consts::SIGUSR2,
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
///
/// ```
/// use graceful::{Signal, UnknownSignal};
/// let error = "SIGFOO".parse::<Signal>().unwrap_err();
/// assert_eq!(error, UnknownSignal("SIGFOO".into()));
/// println!("{error}"); // unknown signal `SIGFOO`, expected one of: SIGINT, SIGTERM, ..
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSignal(pub String);

impl fmt::Display for UnknownSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown signal `{}`, expected one of: {}",
            self.0,
            known_names()
        )
    }
}

impl std::error::Error for UnknownSignal {}

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
    /// prefix on Unix (`"SIGTERM"`, `"term"`): see [`Signal::from_name`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Signal::from_name(s.trim()).ok_or_else(|| UnknownSignal(s.to_owned()))
    }
}

/// Whether `written` names the signal called `known`: the same letters in
/// any case, or the same after a `SIG` prefix that `written` may leave out.
const fn names_match(known: &[u8], written: &[u8]) -> bool {
    let bare = without_sig(known);
    eq_ignore_case(known, written)
        || (bare.len() < known.len() && eq_ignore_case(bare, without_sig(written)))
}

/// `name` without its `SIG` prefix (in any case), if it has one.
const fn without_sig(name: &[u8]) -> &[u8] {
    match name.split_at_checked(3) {
        Some((prefix, rest)) if eq_ignore_case(prefix, b"SIG") => rest,
        _ => name,
    }
}

const fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    let mut i = 0;
    while i < a.len() && i < b.len() && a[i].eq_ignore_ascii_case(&b[i]) {
        i += 1;
    }
    i == a.len() && i == b.len()
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
        assert_eq!(Signal::from_name("SigInt"), Some(Signal::Interrupt));
        for &signal in Signal::ALL {
            let bare = signal.name()[3..].to_lowercase();
            assert_eq!(Signal::from_name(&bare), Some(signal), "{bare}");
        }
        for unknown in ["sigsigterm", "SIG", "", "KILL"] {
            assert_eq!(Signal::from_name(unknown), None, "{unknown}");
        }
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
