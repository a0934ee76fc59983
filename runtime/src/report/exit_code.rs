//! The exit code a program chooses for its shutdown.

/// An exit code the program chooses for a shutdown that completes, with
/// [`Context::shutdown_with`](crate::Context::shutdown_with): what systemd's
/// `RestartPreventExitStatus=` and `SuccessExitStatus=` and Kubernetes' pod
/// failure policies (`onExitCodes`) read, to tell "do not restart me, my
/// configuration is wrong" (`78`, `EX_CONFIG`) from a crash.
///
/// A code is from 1 to 123: 0 is a plain [`shutdown`](crate::Context::shutdown),
/// 124 the deadline's, 125 and up the shell's and a forced exit's (128 + n).
/// Made in a `const`, another code is a compile error:
///
/// ```
/// use graceful::report::ExitCode;
/// const BAD_CONFIG: ExitCode = ExitCode::new(78);
/// assert_eq!(BAD_CONFIG.get(), 78);
/// ```
///
/// ```compile_fail
/// use graceful::report::ExitCode;
/// const TIMED_OUT: ExitCode = ExitCode::new(124); // the deadline's own
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExitCode(u8);

impl ExitCode {
    /// The exit code `code`. Panics unless it is from 1 to 123 (in a
    /// `const`, that is a compile error).
    #[track_caller]
    pub const fn new(code: u8) -> ExitCode {
        match ExitCode::try_new(code) {
            Some(code) => code,
            None => panic!(
                "an exit code chosen by the program is from 1 to 123: 0 is a plain shutdown, 124 the deadline's, 125 and up the shell's and a forced exit's"
            ),
        }
    }

    /// The exit code `code`, or `None` unless it is from 1 to 123.
    pub const fn try_new(code: u8) -> Option<ExitCode> {
        match code {
            1..=123 => Some(ExitCode(code)),
            _ => None,
        }
    }

    /// The code.
    pub const fn get(self) -> u8 {
        self.0
    }
}
