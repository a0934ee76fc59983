//! The values of a task's failure-policy options, checked at compile time:
//! `policy = "isolated"` (or `"essential"`), `restart = "on_failure"`, `backoff = "100ms..30s"`
//! and `intensity = "5 in 60s"`. Each parser reports a bad value under it
//! and returns `None`.

use std::time::Duration;

use syn::Expr;

use crate::errors::Errors;
use crate::options::Spec;
use crate::values::{lit_str, one_of, parse_duration, string};

/// What a task's failure does, without a restart.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PolicyOption {
    Critical,
    Isolated,
    Essential,
}

impl PolicyOption {
    /// The runtime's `Policy` variant.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            PolicyOption::Critical => "Critical",
            PolicyOption::Isolated => "Isolated",
            PolicyOption::Essential => "Essential",
        }
    }
}

/// `"critical"`, `"isolated"` or `"essential"`.
pub(crate) fn policy(value: &Expr, spec: &Spec, errors: &mut Errors) -> Option<PolicyOption> {
    if lit_str(value).is_some_and(|lit| lit.value() == "restart") {
        errors.at(
            value,
            "a task that is started again takes `restart = \"on_failure\"` or `restart = \"always\"`, not `policy = \"restart\"`",
        );
        return None;
    }
    let choices = [
        ("critical", PolicyOption::Critical),
        ("isolated", PolicyOption::Isolated),
        ("essential", PolicyOption::Essential),
    ];
    one_of(value, spec, "policy", &choices, errors)
}

/// The spellings of `restart`: whether the task is also started again when
/// it returns `Ok` (as `Restart::on_any_return`), for [`one_of`].
pub(crate) const RESTART_ON_ANY_RETURN: &[(&str, bool)] =
    &[("on_failure", false), ("always", true)];

/// A restart backoff, `"100ms..30s"`.
pub(crate) fn backoff(
    value: &Expr,
    spec: &Spec,
    errors: &mut Errors,
) -> Option<(Duration, Duration)> {
    let lit = string(value, spec, errors)?;
    parse_backoff(&lit.value())
        .map_err(|why| errors.at(lit, why))
        .ok()
}

/// A restart intensity, `"5 in 60s"`.
pub(crate) fn intensity(value: &Expr, spec: &Spec, errors: &mut Errors) -> Option<(u32, Duration)> {
    let lit = string(value, spec, errors)?;
    parse_intensity(&lit.value())
        .map_err(|why| errors.at(lit, why))
        .ok()
}

/// The first delay and the longest, the first at most the longest, and
/// above zero unless both are (`"0s..0s"` restarts at once).
fn parse_backoff(text: &str) -> Result<(Duration, Duration), String> {
    let example = "such as `\"100ms..30s\"`";
    let (min_text, max_text) = text.split_once("..").ok_or_else(|| {
        format!("invalid backoff `{text}`: write the first delay and the longest, {example}")
    })?;
    let (min_text, max_text) = (min_text.trim(), max_text.trim());
    let parse = |part: &str| {
        parse_duration(part).map_err(|why| {
            format!("invalid backoff `{text}`: in `{part}`, {why}; write two durations, {example}")
        })
    };
    let (min, max) = (parse(min_text)?, parse(max_text)?);
    if min > max {
        return Err(format!(
            "the backoff `{text}` starts above its longest delay: write `\"{max_text}..{min_text}\"`"
        ));
    }
    if min.is_zero() && !max.is_zero() {
        return Err(format!(
            "a backoff that starts at zero stays at zero, as each delay doubles the one before: start with a delay, {example}, or write `\"0s..0s\"` to restart at once"
        ));
    }
    Ok((min, max))
}

/// At least one restart, in a window longer than zero.
fn parse_intensity(text: &str) -> Result<(u32, Duration), String> {
    let example = "such as `\"5 in 60s\"`";
    let (count_text, window_text) = text.trim().split_once(" in ").ok_or_else(|| {
        format!(
            "invalid intensity `{text}`: write the most restarts and the window they are counted in, {example}"
        )
    })?;
    let (count_text, window_text) = (count_text.trim(), window_text.trim());
    let count = count_text.parse::<u32>().map_err(|_| {
        format!(
            "invalid intensity `{text}`: `{count_text}` is not a number of restarts; write a number and a window, {example}"
        )
    })?;
    let window = parse_duration(window_text).map_err(|why| {
        format!(
            "invalid intensity `{text}`: in `{window_text}`, {why}; write a number and a window, {example}"
        )
    })?;
    if count == 0 {
        return Err(format!(
            "an intensity of `{text}` allows no restart: write at least `\"1 in {window_text}\"`, or remove `restart` to let the first failure start the shutdown"
        ));
    }
    if window.is_zero() {
        return Err(format!(
            "a window of zero never counts a restart, so it would restart forever: write a window, {example}"
        ));
    }
    Ok((count, window))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const S: Duration = Duration::from_secs(1);

    #[test]
    fn backoffs_are_ranges_that_grow() {
        assert_eq!(parse_backoff("100ms..30s"), Ok((100 * MS, 30 * S)));
        assert_eq!(parse_backoff(" 1s .. 1s "), Ok((S, S)));
        assert_eq!(
            parse_backoff("0s..0s"),
            Ok((Duration::ZERO, Duration::ZERO))
        );
        for bad in [
            "100ms",
            "100ms-30s",
            "100ms..",
            "..30s",
            "1 fortnight..2s",
            "30s..1s",
            "0s..1s",
        ] {
            assert!(parse_backoff(bad).is_err(), "{bad}");
        }
        let swapped = parse_backoff("30s..100ms").unwrap_err();
        assert!(swapped.ends_with("write `\"100ms..30s\"`"), "{swapped}");
    }

    #[test]
    fn intensities_are_a_count_in_a_window() {
        assert_eq!(parse_intensity("5 in 60s"), Ok((5, 60 * S)));
        assert_eq!(parse_intensity(" 1 in 1m 30s "), Ok((1, 90 * S)));
        for bad in [
            "5",
            "5/60s",
            "five in 60s",
            "-1 in 60s",
            "5 in 60 parsecs",
            "0 in 60s",
            "5 in 0s",
            "99999999999 in 1s",
        ] {
            assert!(parse_intensity(bad).is_err(), "{bad}");
        }
    }
}
