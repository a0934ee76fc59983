//! The check of the names written in `#[graceful::main(signals = [..])]`:
//! a name no [`Signal`] has is a compile error under it, which lists the
//! names there are. The listing is built at compile time from
//! [`Signal::ALL`], so it is right on every platform.

use super::{Signal, names_match};

/// The signal of a name written in `#[graceful::main(signals = [..])]`,
/// whose expansion calls it, as `__private::signal`, in a `const` item
/// spanned at the name: a name [`Signal::from_name`] does not know is a
/// compile error under it (with `cargo check` too) listing the valid names.
#[track_caller]
pub const fn named(name: &str) -> Signal {
    let written = name.trim_ascii().as_bytes();
    match Signal::from_name(name) {
        Some(signal) => signal,
        None if names_match(b"SIGKILL", written) || names_match(b"SIGSTOP", written) => {
            panic!("{}", UNCATCHABLE)
        }
        None => panic!("{}", UNKNOWN),
    }
}

// The messages of `named`, built at compile time from `Signal::ALL`: they
// list the names `from_name` accepts, whatever the platform.
const UNKNOWN: &str = as_str(&UNKNOWN_BYTES);
const UNKNOWN_BYTES: [u8; write_listing(UNKNOWN_PREFIX, &mut [])] = listing(UNKNOWN_PREFIX);
const UNKNOWN_PREFIX: &str = "unknown signal: use one of ";
const UNCATCHABLE: &str = as_str(&UNCATCHABLE_BYTES);
const UNCATCHABLE_BYTES: [u8; write_listing(UNCATCHABLE_PREFIX, &mut [])] =
    listing(UNCATCHABLE_PREFIX);
const UNCATCHABLE_PREFIX: &str =
    "this signal cannot be caught, so it cannot start a graceful shutdown: use one of ";

/// `prefix`, then the names of [`Signal::ALL`] in backticks, joined by `, `.
const fn listing<const N: usize>(prefix: &str) -> [u8; N] {
    let mut out = [0; N];
    assert!(write_listing(prefix, &mut out) == N, "the listing fits");
    out
}

/// Writes the listing into `out` as far as it goes; returns its full length.
const fn write_listing(prefix: &str, out: &mut [u8]) -> usize {
    let mut len = push(out, 0, prefix);
    let mut i = 0;
    while i < Signal::ALL.len() {
        len = push(out, len, if i == 0 { "`" } else { ", `" });
        len = push(out, len, Signal::ALL[i].name());
        len = push(out, len, "`");
        i += 1;
    }
    len
}

/// Writes `text` into `out` from `at`, as far as it goes; returns where it ends.
const fn push(out: &mut [u8], at: usize, text: &str) -> usize {
    let text = text.as_bytes();
    let mut i = 0;
    while i < text.len() && at + i < out.len() {
        out[at + i] = text[i];
        i += 1;
    }
    at + text.len()
}

const fn as_str(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => panic!("signal names are UTF-8"),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// `named`'s panic is the compile error of a bad name in
    /// `#[graceful::main(signals = [..])]`: it lists every name of `ALL`.
    #[test]
    fn named_lists_every_name_of_all() {
        let panic_of = |name| std::panic::catch_unwind(|| named(name)).unwrap_err();
        let valid: Vec<String> = Signal::ALL.iter().map(|s| format!("`{s}`")).collect();
        let valid = format!("use one of {}", valid.join(", "));
        assert_eq!(named("hup"), Signal::Hangup);
        let unknown = panic_of("SIGFOO").downcast::<String>().unwrap();
        assert_eq!(*unknown, format!("unknown signal: {valid}"));
        for uncatchable in ["SIGKILL", "kill", "SIGSTOP", " Stop"] {
            let message = panic_of(uncatchable).downcast::<String>().unwrap();
            let why = "this signal cannot be caught, so it cannot start a graceful shutdown";
            assert_eq!(*message, format!("{why}: {valid}"));
        }
    }
}
