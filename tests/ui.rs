//! The misuse suite: every way to hold the macros wrong is a compile error
//! under the offending token that says what to write instead. Each file in
//! `tests/ui/fail/` is one misuse, its `.stderr` the exact diagnostic; each
//! file in `tests/ui/pass/` is an accepted shape, compiled and run.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test
//! ui` and read every diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
