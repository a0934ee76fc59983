//! What the runtime writes to stderr, and the forms of the numbers in it.
//! A leaf: every room that speaks to the operator uses it, it uses none.

use std::fmt;
use std::time::Duration;

/// A duration as seconds with two decimals (`1.50s`), or ms when short.
pub(crate) struct Secs(pub(crate) Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < Duration::from_secs(1) {
            write!(f, "{}ms", self.0.as_millis())
        } else {
            write!(f, "{:.2}s", self.0.as_secs_f64())
        }
    }
}

/// `1 task`, `3 tasks`.
pub(crate) struct Count(pub(crate) usize, pub(crate) &'static str);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.0 == 1 { "" } else { "s" };
        write!(f, "{} {}{s}", self.0, self.1)
    }
}

/// The single writer to stderr: the shutdown notice, progress lines and the
/// final report. Everything else goes through `tracing`.
pub(crate) fn console(line: fmt::Arguments<'_>) {
    // Formatted first, then written at once: stderr is unbuffered, and a
    // report written piece by piece is a dozen system calls, interleaved
    // with whatever other threads print.
    let text = format!("{line}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
}
