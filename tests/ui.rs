//! The misuse suite: every way to hold the macros wrong is a compile error
//! under the offending token that says what to write instead. Each file in
//! `tests/ui/fail/` is one misuse, its `.stderr` the exact diagnostic; each
//! file in `tests/ui/pass/` is an accepted shape, compiled and run.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test
//! ui` and read every diff.
//!
//! The `.stderr` files are exact on the compiler they were reviewed with,
//! [`REVIEWED_ON`]: another one may word or underline the same error a little
//! differently. There, the misuses are skipped with a message that says so,
//! rather than failed, and the accepted shapes still compile and run.

use std::process::Command;

/// The `rustc` release (`major.minor`, stable) the snapshots were made and
/// reviewed with. Update it, with the `.stderr` files, when moving on.
const REVIEWED_ON: &str = "1.95";

#[test]
fn ui() {
    let rustc = rustc_version();
    if is_reviewed(&rustc) {
        // The misuses run on their own, so trybuild compiles them with
        // `cargo check`, as an editor does: every error must show without a
        // build (an unknown signal name is found by evaluating a constant).
        trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
    } else {
        // Straight to the file descriptor, not through `eprintln!`: the test
        // harness captures what the print macros write in a test that
        // passes, and this note must be seen.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "note: the UI snapshots in tests/ui/fail were reviewed on rustc {REVIEWED_ON} (stable); \
             this is `{rustc}`, whose diagnostics may differ in wording or underlines: \
             skipping the misuse cases and checking only that the accepted shapes in tests/ui/pass \
             compile and run (run `rustup run {REVIEWED_ON} cargo test --test ui` for the full suite)"
        );
    }
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}

/// `rustc --version` of the compiler that builds the cases (`$RUSTC` if
/// set, else the `rustc` that rustup resolves for this toolchain, as for
/// trybuild's own `cargo`), such as `rustc 1.95.0 (59807616e 2026-04-14)`.
fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(
            || format!("{rustc} (version unknown)"),
            |v| v.trim().to_owned(),
        )
}

/// Whether `version` is a stable release of [`REVIEWED_ON`]: `rustc 1.95.0
/// (..)` or `rustc 1.95.1 (..)`; not `1.96.0`, `1.95.0-beta.3` or a nightly.
fn is_reviewed(version: &str) -> bool {
    let Some(release) = version.split_whitespace().nth(1) else {
        return false;
    };
    let (number, channel) = release.split_once('-').unwrap_or((release, ""));
    channel.is_empty()
        && number
            .strip_prefix(REVIEWED_ON)
            .is_some_and(|patch| patch.starts_with('.'))
}
