//! Panics caught in tasks and hooks, and where they happened.
//!
//! The panic hook is process-global (the standard library makes it so):
//! this room is the one place that touches it. The hook installed here
//! chains to the previous one (by default the one that prints the panic)
//! and writes the panic's location into a slot of the panicking thread.
//! Every `catch_unwind` of the runtime (the task wrapper around each poll,
//! a hook's run, a restarted task's run) reads that slot right after the
//! unwind stopped, on the same thread, before anything else can run there.
//! A slot left empty means the hook did not run for this panic: a user's
//! `std::panic::set_hook` replaced it, or the panic was resumed with
//! `resume_unwind` (which runs no hook); the report says so.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::panic::Location;
use std::sync::Once;

thread_local! {
    /// Where the last panic on this thread happened, as our hook saw it;
    /// taken by the first catch after it.
    static LAST_PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Chains a panic hook that remembers where the last panic on this thread
/// happened, so a caught panic can name its location. Runs once per process;
/// the previous hook (by default the one that prints the panic) still runs.
pub(crate) fn remember_panic_locations() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let at = info.location().map(Location::to_string);
            LAST_PANIC_LOCATION.with(|last| *last.borrow_mut() = at);
            previous(info);
        }));
    });
}

/// Why a [`Panic`] has no location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unknown {
    /// Caught on the panicking thread, and the hook left nothing there.
    HookDidNotRun,
    /// The panic unwound out of the task's wrapper, and was read from the
    /// task's join handle on another thread.
    OutsideTheTask,
}

impl Unknown {
    fn says(self) -> &'static str {
        match self {
            Unknown::HookDidNotRun => {
                "the panic hook was replaced (std::panic::set_hook), or the panic was resumed with resume_unwind"
            }
            Unknown::OutsideTheTask => "it panicked outside the task's body",
        }
    }
}

/// A panic caught in a task or hook: its message and where it happened.
///
/// ```
/// use graceful::Runtime;
/// use graceful::report::FailureKind;
///
/// let report = Runtime::new().signals([]).block_on(|ctx| async move {
///     ctx.spawn("parser", async { panic!("unexpected token") });
/// });
/// let FailureKind::Panic(panic) = &report.failures[0].kind else { unreachable!() };
/// assert_eq!(panic.message, "unexpected token");
/// assert!(panic.location.as_deref().is_some_and(|at| at.contains(".rs:")));
/// ```
///
/// The location is recorded by a panic hook that the runtime chains in
/// front of the one already installed when it starts. A program that
/// replaces the hook afterwards (`std::panic::set_hook`) loses the
/// locations: the report then says `location unknown: the panic hook was
/// replaced ..` ([`location_unknown`](Self::location_unknown)). Install
/// your hook before the runtime starts, and both run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Panic {
    /// The panic payload, if it was a string; `Box<dyn Any>` otherwise.
    pub message: String,
    /// `file:line:column` of the `panic!`, when known.
    pub location: Option<String>,
    unknown: Option<Unknown>,
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, self.location_unknown()) {
            (Some(at), _) => write!(f, "panicked at {at}: {}", self.message),
            (None, Some(why)) => write!(f, "panicked (location unknown: {why}): {}", self.message),
            (None, None) => write!(f, "panicked: {}", self.message),
        }
    }
}

impl Panic {
    /// Why [`location`](Self::location) is `None`, when it is.
    ///
    /// ```
    /// use graceful::Runtime;
    /// use graceful::report::FailureKind;
    ///
    /// let report = Runtime::new().signals([]).block_on(|ctx| async move {
    ///     ctx.spawn("parser", async { panic!("unexpected token") });
    /// });
    /// let FailureKind::Panic(panic) = &report.failures[0].kind else { unreachable!() };
    /// assert_eq!(panic.location_unknown(), None); // the runtime's hook saw it
    /// ```
    pub fn location_unknown(&self) -> Option<&'static str> {
        match self.location {
            Some(_) => None,
            None => self.unknown.map(Unknown::says),
        }
    }

    /// The panic just caught on this thread: call it right after the
    /// `catch_unwind` returned, on the thread that panicked, where the hook
    /// left the location.
    pub(crate) fn caught(payload: Box<dyn Any + Send>) -> Panic {
        let location = LAST_PANIC_LOCATION.with(|last| last.borrow_mut().take());
        let unknown = location.is_none().then_some(Unknown::HookDidNotRun);
        Panic {
            message: message(payload),
            location,
            unknown,
        }
    }

    /// A panic that unwound out of a task's wrapper, read from its join
    /// handle, on whichever thread awaits it: its location is not known.
    pub(crate) fn escaped(payload: Box<dyn Any + Send>) -> Panic {
        Panic {
            message: message(payload),
            location: None,
            unknown: Some(Unknown::OutsideTheTask),
        }
    }

    /// Panics again with this panic's message, keeping its location for the
    /// next [`caught`](Self::caught) on this thread (`resume_unwind` runs no
    /// hook).
    pub(crate) fn resume(self) -> ! {
        LAST_PANIC_LOCATION.with(|last| *last.borrow_mut() = self.location);
        std::panic::resume_unwind(Box::new(self.message))
    }
}

/// The payload's text, if it is one.
fn message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_owned(),
            Err(_) => "Box<dyn Any>".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_payloads_become_text() {
        assert_eq!(message(Box::new("boom")), "boom");
        assert_eq!(message(Box::new(String::from("bang"))), "bang");
        assert_eq!(message(Box::new(7_u8)), "Box<dyn Any>");
    }

    /// `resume_unwind` runs no hook: what the slot holds is all there is.
    #[test]
    fn a_catch_without_the_hook_says_why_it_has_no_location() {
        let payload =
            std::panic::catch_unwind(|| std::panic::resume_unwind(Box::new("quiet"))).unwrap_err();
        let panic = Panic::caught(payload);
        assert_eq!(
            (panic.message.as_str(), panic.location.as_deref()),
            ("quiet", None)
        );
        assert_eq!(
            panic.to_string(),
            "panicked (location unknown: the panic hook was replaced (std::panic::set_hook), or the panic was resumed with resume_unwind): quiet"
        );
        let escaped = Panic::escaped(Box::new("late"));
        assert_eq!(
            escaped.to_string(),
            "panicked (location unknown: it panicked outside the task's body): late"
        );
    }
}
