//! The values of options, checked at compile time so a typo never reaches
//! run time: strings, durations, counts, flavors, signal names and paths.
//! Each parser reports a bad value under it and returns `None`.

use std::time::Duration;

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use syn::{Expr, ExprLit, Lit, LitStr, Path};

use crate::errors::Errors;
use crate::options::{CRATE, Spec};
use crate::types::tokens;

/// The string literal `expr` is, if it is one.
pub(crate) fn lit_str(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s),
        _ => None,
    }
}

/// The string literal `value` must be.
pub(crate) fn string<'v>(value: &'v Expr, spec: &Spec, errors: &mut Errors) -> Option<&'v LitStr> {
    let lit = lit_str(value);
    if lit.is_none() {
        errors.at(value, spec.expected());
    }
    lit
}

/// A duration string: `"30s"`, `"1500ms"`, `"1m 30s"`.
pub(crate) fn duration(value: &Expr, spec: &Spec, errors: &mut Errors) -> Option<Duration> {
    let lit = string(value, spec, errors)?;
    parse_duration(&lit.value())
        .map_err(|why| {
            errors.at(
                lit,
                format!(
                    "invalid duration `{}`: {why}; write a number and a unit, such as `\"30s\"`, `\"1500ms\"` or `\"2min\"`",
                    lit.value()
                ),
            );
        })
        .ok()
}

/// `text` as a duration, or why it is not one.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    use humantime::DurationError as E;
    humantime::parse_duration(text.trim()).map_err(|e| match e {
        E::UnknownUnit { unit, .. } if unit.is_empty() => "the unit is missing".into(),
        E::UnknownUnit { unit, .. } => format!("unknown unit `{unit}`"),
        E::NumberOverflow => "the number is too large".into(),
        E::Empty => "it is empty".into(),
        E::InvalidCharacter(at) | E::NumberExpected(at) => {
            format!("unexpected text at offset {at}")
        }
        #[allow(unreachable_patterns)]
        _ => e.to_string(),
    })
}

/// `Duration::new(secs, nanos)`, a constant expression.
pub(crate) fn duration_tokens(d: Duration) -> TokenStream {
    let secs = Literal::u64_unsuffixed(d.as_secs());
    let nanos = Literal::u32_unsuffixed(d.subsec_nanos());
    quote!(::core::time::Duration::new(#secs, #nanos))
}

/// A whole number, at least 1.
pub(crate) fn count(value: &Expr, spec: &Spec, errors: &mut Errors) -> Option<usize> {
    let Expr::Lit(ExprLit {
        lit: Lit::Int(n), ..
    }) = value
    else {
        errors.at(value, spec.expected());
        return None;
    };
    match n.base10_parse::<usize>() {
        Ok(0) => {
            errors.at(n, format!("`{}` must be at least 1", spec.name));
            None
        }
        Ok(n) => Some(n),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// The tokio scheduler `#[graceful::main]` builds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlavorOption {
    MultiThread,
    CurrentThread,
}

/// The spellings of [`Flavor`], for [`one_of`].
pub(crate) const FLAVORS: &[(&str, FlavorOption)] = &[
    ("multi_thread", FlavorOption::MultiThread),
    ("current_thread", FlavorOption::CurrentThread),
];

/// The string `value` must be, one of `choices`; an unknown one is named as
/// a `what`, with each choice written in full.
pub(crate) fn one_of<T: Copy>(
    value: &Expr,
    spec: &Spec,
    what: &str,
    choices: &[(&str, T)],
    errors: &mut Errors,
) -> Option<T> {
    let lit = string(value, spec, errors)?;
    let written = lit.value();
    if let Some((_, choice)) = choices.iter().find(|(name, _)| *name == written) {
        return Some(*choice);
    }
    let each: Vec<String> = choices
        .iter()
        .map(|(name, _)| format!("`{} = \"{name}\"`", spec.name))
        .collect();
    errors.at(
        lit,
        format!("unknown {what} `{written}`: write {}", each.join(" or ")),
    );
    None
}

/// `["SIGINT", "term"]`, or a single `"SIGTERM"`: the names as written, each
/// once. Which names exist is the runtime's to say: the expansion has the
/// compiler check each one with `graceful::Signal::from_name`.
pub(crate) fn signals(value: &Expr, spec: &Spec, errors: &mut Errors) -> Option<Vec<LitStr>> {
    let elems: Vec<&Expr> = match value {
        Expr::Array(a) => a.elems.iter().collect(),
        Expr::Lit(_) => vec![value],
        _ => {
            errors.at(value, spec.expected());
            return None;
        }
    };
    let mut names: Vec<LitStr> = Vec::new();
    let mut ok = true;
    for elem in elems {
        let Some(lit) = lit_str(elem) else {
            let hint = match elem {
                Expr::Path(p) => {
                    format!("write signal names as strings: `\"{}\"`", tokens(&p.path))
                }
                _ => spec.expected(),
            };
            errors.at(elem, hint);
            ok = false;
            continue;
        };
        let written = spelling(&lit.value());
        if names.iter().any(|n| spelling(&n.value()) == written) {
            errors.at(lit, format!("`{}` is listed twice: keep one", lit.value()));
            ok = false;
        } else {
            names.push(lit.clone());
        }
    }
    ok.then_some(names)
}

/// What two spellings of one signal name have in common: `Signal::from_name`
/// ignores case, white space around and the `SIG` prefix.
fn spelling(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper.strip_prefix("SIG").unwrap_or(&upper).to_owned()
}

/// The `crate = "..."` value as a path.
pub(crate) fn crate_path(value: &Expr, errors: &mut Errors) -> Option<Path> {
    let lit = string(value, &CRATE, errors)?;
    match lit.parse::<Path>() {
        Ok(path) => Some(path),
        Err(_) => {
            errors.at(
                lit,
                format!(
                    "`{}` is not a path: write the path of the `graceful` crate, as in `{}`",
                    lit.value(),
                    CRATE.example
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals_of(value: Expr) -> (Option<Vec<String>>, usize) {
        let mut errors = Errors::default();
        let names = signals(&value, &CRATE, &mut errors);
        let names = names.map(|n| n.iter().map(LitStr::value).collect());
        (names, errors.count())
    }

    #[test]
    fn signal_names_are_kept_as_written_once_each() {
        let (names, errors) = signals_of(syn::parse_quote!(["SIGINT", "term", "SIGFOO"]));
        assert_eq!(names.unwrap(), ["SIGINT", "term", "SIGFOO"]);
        assert_eq!(errors, 0);
        let (names, errors) = signals_of(syn::parse_quote!("hup"));
        assert_eq!(names.unwrap(), ["hup"]);
        assert_eq!(errors, 0);
        let (names, errors) = signals_of(syn::parse_quote!(["SIGTERM", " term", "SigTerm"]));
        assert_eq!((names, errors), (None, 2));
        let (names, errors) = signals_of(syn::parse_quote!([SIGINT, 2]));
        assert_eq!((names, errors), (None, 2));
    }

    #[test]
    fn durations_are_checked() {
        let mut errors = Errors::default();
        let d = duration(&syn::parse_quote!("1m 30s"), &CRATE, &mut errors);
        assert_eq!(d, Some(Duration::from_secs(90)));
        for bad in ["5", "2 fortnights", ""] {
            assert_eq!(
                duration(&syn::parse_quote!(#bad), &CRATE, &mut errors),
                None
            );
        }
        assert_eq!(errors.count(), 3);
    }
}
