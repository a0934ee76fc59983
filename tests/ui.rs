//! The misuse suite: every way to hold the macros wrong is a compile error
//! under the offending token that says what to write instead. Each file in
//! `tests/ui/fail/` is one misuse, its `.stderr` the exact diagnostic; each
//! file in `tests/ui/pass/` is an accepted shape, compiled and run.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test
//! ui` and read every diff.

#[test]
fn ui() {
    // The misuses run on their own, so trybuild compiles them with `cargo
    // check`, as an editor does: every error must show without a build
    // (an unknown signal name is found by evaluating a constant).
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}
