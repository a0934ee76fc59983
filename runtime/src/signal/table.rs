//! What each signal does: the one table.
//!
//! | signal | heard | what it does |
//! |---|---|---|
//! | a shutdown signal (`SIGINT`, `SIGTERM` unless [`Runtime::signals`](crate::Runtime::signals) says otherwise) | from the start | [`Action::Shutdown`]: the first starts the shutdown; one within [`Signal::WINDOW`] of it is the same request; a later one forces the exit (unless told not to) |
//! | the dump signal (`SIGUSR1`, [`Runtime::dump_signal`](crate::Runtime::dump_signal)) | from the start | [`Action::Dump`], unless it is also a shutdown signal |
//! | `SIGHUP` | from the start if a shutdown signal or under a service manager; else from the first [`Context::on_reload`](crate::Context::on_reload) | [`Action::Reload`] once a reload hook exists (ignored once the shutdown began), whatever else it is; else a shutdown if listed; else ignored, said on stderr |
//! | the upgrade signal (`SIGUSR2`, [`Runtime::upgrade_signal`](crate::Runtime::upgrade_signal)) | from the start | [`Action::Upgrade`] until the shutdown begins; after, what it is besides (a shutdown signal, the dump) or ignored |
//! | `SIGUSR2` | from the start, always | ignored when it is not the upgrade signal (nor listed), so that a stray one (an operator's upgrade of a build without it) does not end the process |
//! | `SIGXFSZ` | from the start | ignored: the write past the file-size limit fails with `EFBIG` where the program can handle it |
//! | any other signal a [`Signal`] names | if listed | ignored |
//!
//! Not heard, so their default actions hold: `SIGQUIT` unless listed (a
//! core dump), `SIGPIPE` (ignored by Rust's runtime: a write to a closed
//! socket fails with `EPIPE`), `SIGKILL` and `SIGSTOP` (which no handler
//! can catch) and every signal no [`Signal`] names.
//!
//! On Windows the console events are the shutdown signals; there is no
//! dump, reload or upgrade.

use tokio::time::Instant;

use super::Signal;
use super::os::Heard;

/// The signal of the reload hooks: a service manager's reload sends it
/// (systemd's `ExecReload=kill -HUP $MAINPID`).
#[cfg(unix)]
pub(crate) const RELOAD: Signal = Signal::Hangup;

/// Which signal does what, as the builder says.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    pub(crate) shutdown: Vec<Signal>,
    pub(crate) dump: Option<Signal>,
    /// `None` without the `upgrade` feature.
    pub(crate) upgrade: Option<Signal>,
}

/// What a delivery asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Start the shutdown, or force the exit (see [`same_request`]).
    Shutdown(Signal),
    /// Print the task dump.
    Dump(Signal),
    /// Run the reload hooks.
    #[cfg(unix)]
    Reload,
    /// Start the binary upgrade.
    #[cfg(all(unix, feature = "upgrade"))]
    Upgrade(Signal),
    /// Nothing: heard only so that the signal does not end the process.
    Ignore(Ignored),
}

/// Why a delivery does nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ignored {
    /// `SIGXFSZ`: the write fails with `EFBIG` instead.
    #[cfg(unix)]
    FileTooLarge,
    /// `SIGHUP` with no reload hook: said on stderr.
    #[cfg(unix)]
    NoReloadHook,
    /// A reload once the shutdown began.
    #[cfg(unix)]
    Reload,
    /// A signal heard that asks for nothing now.
    Signal(Signal),
}

/// What the table depends on besides the builder.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Now {
    /// A reload hook was registered.
    pub(crate) reload_hooks: bool,
    /// The shutdown began.
    pub(crate) shutting_down: bool,
}

impl Table {
    /// The handlers installed before anything else runs.
    pub(crate) fn heard_at_start(&self, under_service_manager: bool) -> Vec<Heard> {
        let mut heard: Vec<Heard> = self.shutdown.iter().copied().map(Heard::Signal).collect();
        heard.extend(self.dump.map(Heard::Signal));
        heard.extend(self.upgrade.map(Heard::Signal));
        #[cfg(unix)]
        {
            heard.extend([Heard::Signal(Signal::User2), Heard::FileTooLarge]);
            // Under a service manager, whose reload is SIGHUP, it never ends
            // the program, reload hook or not.
            if under_service_manager {
                heard.push(Heard::Signal(RELOAD));
            }
        }
        #[cfg(not(unix))]
        let _ = under_service_manager;
        heard
    }

    /// What `heard` does now, in the order of precedence of the table
    /// above.
    pub(crate) fn action(&self, heard: Heard, now: Now) -> Action {
        let sig = match heard {
            Heard::Signal(sig) => sig,
            #[cfg(unix)]
            Heard::FileTooLarge => return Action::Ignore(Ignored::FileTooLarge),
        };
        #[cfg(unix)]
        if sig == RELOAD && now.reload_hooks {
            return if now.shutting_down {
                Action::Ignore(Ignored::Reload)
            } else {
                Action::Reload
            };
        }
        #[cfg(all(unix, feature = "upgrade"))]
        if Some(sig) == self.upgrade && !now.shutting_down {
            return Action::Upgrade(sig);
        }
        if self.shutdown.contains(&sig) {
            return Action::Shutdown(sig);
        }
        if Some(sig) == self.dump {
            return Action::Dump(sig);
        }
        #[cfg(unix)]
        if sig == RELOAD {
            return Action::Ignore(Ignored::NoReloadHook);
        }
        #[cfg(not(unix))]
        let _ = now;
        Action::Ignore(Ignored::Signal(sig))
    }
}

/// Whether a shutdown signal delivered `at` is the same request as the
/// first one, delivered at `first`: within [`Signal::WINDOW`] of it, in
/// either order. Either order, because the deliveries of two signals are
/// read in the order their sockets are polled, not in the order their
/// handlers ran: a `SIGTERM` sent a second before a `SIGINT` may be read
/// after it.
pub(crate) fn same_request(first: Instant, at: Instant) -> bool {
    first.max(at) - first.min(at) < Signal::WINDOW
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;

    use super::*;

    fn table() -> Table {
        Table {
            shutdown: vec![Signal::Interrupt, Signal::Terminate, Signal::Hangup],
            dump: Some(Signal::User1),
            upgrade: Some(Signal::User2),
        }
    }

    const RUNNING: Now = Now {
        reload_hooks: false,
        shutting_down: false,
    };

    #[test]
    fn each_signal_does_what_the_table_says() {
        let t = table();
        let action = |sig, now| t.action(Heard::Signal(sig), now);
        assert_eq!(
            action(Signal::Terminate, RUNNING),
            Action::Shutdown(Signal::Terminate)
        );
        assert_eq!(action(Signal::User1, RUNNING), Action::Dump(Signal::User1));
        #[cfg(feature = "upgrade")]
        assert_eq!(
            action(Signal::User2, RUNNING),
            Action::Upgrade(Signal::User2)
        );
        assert_eq!(
            action(Signal::Quit, RUNNING),
            Action::Ignore(Ignored::Signal(Signal::Quit))
        );
        assert_eq!(
            t.action(Heard::FileTooLarge, RUNNING),
            Action::Ignore(Ignored::FileTooLarge)
        );
    }

    #[test]
    fn a_reload_hook_makes_sighup_a_reload_even_when_it_is_a_shutdown_signal() {
        let t = table();
        let hangup = |now| t.action(Heard::Signal(Signal::Hangup), now);
        assert_eq!(hangup(RUNNING), Action::Shutdown(Signal::Hangup));
        let hooks = Now {
            reload_hooks: true,
            ..RUNNING
        };
        assert_eq!(hangup(hooks), Action::Reload);
        let stopping = Now {
            shutting_down: true,
            ..hooks
        };
        assert_eq!(hangup(stopping), Action::Ignore(Ignored::Reload));
        let unlisted = Table {
            shutdown: vec![Signal::Terminate],
            ..table()
        };
        assert_eq!(
            unlisted.action(Heard::Signal(Signal::Hangup), RUNNING),
            Action::Ignore(Ignored::NoReloadHook)
        );
    }

    #[test]
    #[cfg(feature = "upgrade")]
    fn the_upgrade_signal_is_what_else_it_is_once_the_shutdown_began() {
        let stopping = Now {
            shutting_down: true,
            ..RUNNING
        };
        let both = Table {
            shutdown: vec![Signal::Terminate, Signal::User2],
            ..table()
        };
        let usr2 = Heard::Signal(Signal::User2);
        assert_eq!(both.action(usr2, RUNNING), Action::Upgrade(Signal::User2));
        assert_eq!(both.action(usr2, stopping), Action::Shutdown(Signal::User2));
        assert_eq!(
            table().action(usr2, stopping),
            Action::Ignore(Ignored::Signal(Signal::User2))
        );
    }

    #[test]
    fn sigusr2_and_sigxfsz_are_heard_from_the_start_sighup_under_a_service_manager() {
        let t = Table {
            shutdown: vec![Signal::Terminate],
            dump: None,
            upgrade: None,
        };
        let heard = t.heard_at_start(false);
        assert!(heard.contains(&Heard::Signal(Signal::User2)));
        assert!(heard.contains(&Heard::FileTooLarge));
        assert!(!heard.contains(&Heard::Signal(Signal::Hangup)));
        assert!(
            t.heard_at_start(true)
                .contains(&Heard::Signal(Signal::Hangup))
        );
    }

    /// Two signals' deliveries may be read in the other order than they
    /// were sent: one sent 100 ms before the first read is not a copy of it.
    #[test]
    fn the_window_is_measured_in_either_order() {
        let first = Instant::now();
        let ms = Duration::from_millis;
        assert!(same_request(first, first + ms(49)));
        assert!(!same_request(first, first + ms(50)));
        assert!(same_request(first + ms(49), first));
        assert!(
            !same_request(first + ms(100), first),
            "sent earlier, read later"
        );
    }
}
