//! The output of a `#[graceful::test]`: `()` or `Result<(), E>`. What is
//! certainly neither is an error of the macro, so that it shows in every
//! build (a `#[test]` function is only compiled by `cargo test`); an alias
//! is left to the compiler, which checks `TestOutput` at the return type.

use syn::{GenericArgument, PathArguments, ReturnType, Type};

use super::ATTR;
use crate::errors::Errors;
use crate::types::{Role, check_owned, tokens};

/// Reports an output that cannot be a test's: `!`, a borrow, `impl Trait`,
/// and the types that are certainly neither `()` nor `Result<(), E>`. An
/// alias (`type TestResult = ..`) is left to the compiler, which checks
/// `TestOutput` at the return type.
pub(super) fn check(output: &ReturnType, errors: &mut Errors) {
    let ReturnType::Type(_, ty) = output else {
        return;
    };
    if let Type::Never(never) = &**ty {
        errors.at(
            never,
            "a test cannot return `!`: remove `-> !`, or return `Result<(), E>` to use `?`",
        );
        return;
    }
    check_owned(ty, Role::Output(ATTR.subject), errors);
    if let Some(unit) = result_with_value(ty) {
        errors.at(
            ty,
            format!(
                "a test's `Result` carries no value: write `{}`",
                tokens(&unit)
            ),
        );
    } else if never_an_output(ty) {
        errors.at(
            ty,
            format!(
                "a test cannot return `{}`: return `()`, or `Result<(), E>` with `E: Debug` to use `?`",
                tokens(ty)
            ),
        );
    }
}

/// For `Result<T, E>` (or `io::Result<T>`) with `T` other than `()`, the
/// same type with `()` for `T`.
fn result_with_value(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    if last.ident != "Result" {
        return None;
    }
    match args.args.first()? {
        GenericArgument::Type(Type::Tuple(t)) if t.elems.is_empty() => None,
        GenericArgument::Type(_) => {
            let mut unit = ty.clone();
            if let Type::Path(p) = &mut unit
                && let Some(last) = p.path.segments.last_mut()
                && let PathArguments::AngleBracketed(args) = &mut last.arguments
            {
                args.args[0] = GenericArgument::Type(syn::parse_quote!(()));
            }
            Some(unit)
        }
        _ => None,
    }
}

/// Types that are never `()` nor `Result<(), E>`, whatever is in scope.
fn never_an_output(ty: &Type) -> bool {
    const NAMES: &[&str] = &[
        "bool", "char", "str", "String", "Option", "Vec", "Box", "u8", "u16", "u32", "u64", "u128",
        "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64",
    ];
    match ty {
        Type::Tuple(t) => !t.elems.is_empty(),
        Type::Array(_) | Type::Slice(_) | Type::Ptr(_) | Type::FnPtr(_) => true,
        Type::TraitObject(_) => true,
        // A borrow other than `'static` is reported as one already.
        Type::Reference(r) => r.lifetime.as_ref().is_some_and(|l| l.ident == "static"),
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| NAMES.iter().any(|name| s.ident == name)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(output: ReturnType) -> usize {
        let mut errors = Errors::default();
        check(&output, &mut errors);
        errors.count()
    }

    #[test]
    fn units_results_and_aliases_pass() {
        for ok in [
            syn::parse_quote!(),
            syn::parse_quote!(-> ()),
            syn::parse_quote!(-> Result<(), String>),
            syn::parse_quote!(-> anyhow::Result<()>),
            syn::parse_quote!(-> std::io::Result<()>),
            syn::parse_quote!(-> TestResult),
        ] {
            assert_eq!(errors_of(ok), 0);
        }
    }

    #[test]
    fn what_is_never_an_output_is_an_error() {
        for bad in [
            syn::parse_quote!(-> u32),
            syn::parse_quote!(-> Option<()>),
            syn::parse_quote!(-> (u8, u8)),
            syn::parse_quote!(-> !),
            syn::parse_quote!(-> &'static str),
            syn::parse_quote!(-> impl std::fmt::Debug),
            syn::parse_quote!(-> Box<dyn std::error::Error>),
        ] {
            assert_eq!(errors_of(bad), 1);
        }
    }

    #[test]
    fn a_result_with_a_value_gets_its_unit_spelling() {
        let ty: Type = syn::parse_quote!(io::Result<usize>);
        assert_eq!(tokens(&result_with_value(&ty).unwrap()), "io::Result<()>");
        let ty: Type = syn::parse_quote!(Result<(), E>);
        assert!(result_with_value(&ty).is_none());
    }
}
