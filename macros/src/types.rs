//! Checks on the types of a signature: a task outlives the call that starts
//! it, so what it takes and returns must own its data.

use quote::ToTokens;
use syn::visit::{self, Visit};
use syn::{Lifetime, Type, TypeImplTrait, TypeReference};

use crate::errors::Errors;

/// Where a type is written, for messages.
#[derive(Clone, Copy)]
pub(crate) enum Role {
    /// A task parameter.
    Param,
    /// `self: T`.
    Receiver,
    /// The output of a task or `main`, named in messages by the string
    /// ("a task", "`main`").
    Output(&'static str),
}

/// Whether `ty` is written as a graceful `Context` (by its last path segment).
pub(crate) fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Context" && s.arguments.is_none()),
        Type::Group(g) => is_context(&g.elem),
        Type::Paren(p) => is_context(&p.elem),
        _ => false,
    }
}

/// Reports every borrow in `ty` (a reference or lifetime other than
/// `'static`) and, for an output, every `impl Trait`.
pub(crate) fn check_owned(ty: &Type, role: Role, errors: &mut Errors) {
    check_owned_except(ty, role, &[], errors);
}

/// [`check_owned`], except for the lifetimes in `reported`, whose
/// declaration is already an error (one mistake, one error).
pub(crate) fn check_owned_except(
    ty: &Type,
    role: Role,
    reported: &[&Lifetime],
    errors: &mut Errors,
) {
    Borrows {
        role,
        reported,
        errors,
    }
    .visit_type(ty);
}

struct Borrows<'e> {
    role: Role,
    reported: &'e [&'e Lifetime],
    errors: &'e mut Errors,
}

impl Borrows<'_> {
    fn borrowed(&mut self, at: impl ToTokens, written: &str, instead: &str) {
        let message = match self.role {
            Role::Param => format!(
                "a task outlives the call that starts it, so it cannot take `{written}`: take {instead}"
            ),
            Role::Receiver => format!(
                "a task outlives the call that starts it, so it cannot take `{written}` as `self`: take `self: Arc<Self>` or `self` by value"
            ),
            Role::Output(subject) => format!(
                "the output of {subject} outlives its body, so it cannot be `{written}`: return {instead}"
            ),
        };
        self.errors.at(at, message);
    }
}

impl<'ast> Visit<'ast> for Borrows<'_> {
    fn visit_type_reference(&mut self, r: &'ast TypeReference) {
        if r.lifetime.as_ref().is_some_and(|lt| lt.ident == "static") {
            return visit::visit_type(self, &r.elem);
        }
        let written = tokens(r);
        let instead = owned_suggestion(&r.elem);
        self.borrowed(r, &written, &instead);
    }

    fn visit_lifetime(&mut self, lt: &'ast Lifetime) {
        if lt.ident != "static" && !self.reported.contains(&lt) {
            self.borrowed(lt, &tokens(lt), "owned values or `'static` data");
        }
    }

    fn visit_type_impl_trait(&mut self, it: &'ast TypeImplTrait) {
        if let Role::Output(subject) = self.role {
            self.errors.at(
                it,
                format!("the output of {subject} cannot be `impl Trait`: name the type"),
            );
        } else {
            visit::visit_type_impl_trait(self, it);
        }
    }

    // `fn(&str)` and `Fn(&str)` are `'static` whatever they take, and so is
    // anything under `for<'a>`.
    fn visit_type_fn_ptr(&mut self, _: &'ast syn::TypeFnPtr) {}
    fn visit_parenthesized_generic_arguments(
        &mut self,
        _: &'ast syn::ParenthesizedGenericArguments,
    ) {
    }
    fn visit_trait_bound(&mut self, bound: &'ast syn::TraitBound) {
        if bound.lifetimes.is_none() {
            visit::visit_trait_bound(self, bound);
        }
    }
}

/// What to write instead of `&elem`.
fn owned_suggestion(elem: &Type) -> String {
    let elem_text = tokens(elem);
    match elem {
        Type::Path(p) if p.path.is_ident("str") => "an owned `String`".into(),
        Type::Path(p) if p.path.is_ident("Path") => "an owned `PathBuf`".into(),
        Type::Slice(s) => format!("an owned `Vec<{}>`", tokens(&s.elem)),
        Type::TraitObject(_) => {
            format!("an owned `Box<{elem_text}>` or a shared `Arc<{elem_text}>`")
        }
        _ => format!("an owned `{elem_text}` or a shared `Arc<{elem_text}>`"),
    }
}

/// Tokens as a user would write them: `&'a str`, `Vec<u8>`, `x: &[u8]`.
pub(crate) fn tokens(t: &impl ToTokens) -> String {
    let text = t.to_token_stream().to_string();
    let mut out = String::with_capacity(text.len());
    let mut prev = "";
    for part in text.split(' ').filter(|p| !p.is_empty()) {
        if !prev.is_empty() && space_between(prev, part) {
            out.push(' ');
        }
        out.push_str(part);
        prev = part;
    }
    out
}

fn space_between(prev: &str, next: &str) -> bool {
    let after_separator = matches!(prev, ":" | "," | "->" | "=" | "+");
    match next {
        ">" | "," | ")" | "]" | "::" | ":" | ";" => false,
        "<" | "[" => after_separator,
        "(" => after_separator || matches!(prev, "mut" | "dyn" | "impl" | "const"),
        _ => !matches!(prev, "<" | "(" | "[" | "&" | "::" | "*" | "#"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_like_source() {
        let ty: Type = syn::parse_quote!(&'a mut std::collections::HashMap<String, Vec<u8>>);
        assert_eq!(
            tokens(&ty),
            "&'a mut std::collections::HashMap<String, Vec<u8>>"
        );
        let ty: Type = syn::parse_quote!(Result<(), Box<dyn std::error::Error + Send>>);
        assert_eq!(tokens(&ty), "Result<(), Box<dyn std::error::Error + Send>>");
        let arg: syn::FnArg = syn::parse_quote!(x: &[u8]);
        assert_eq!(tokens(&arg), "x: &[u8]");
    }

    #[test]
    fn context_is_recognised_by_its_last_segment() {
        assert!(is_context(&syn::parse_quote!(Context)));
        assert!(is_context(&syn::parse_quote!(graceful::Context)));
        assert!(!is_context(&syn::parse_quote!(&Context)));
        assert!(!is_context(&syn::parse_quote!(Context<'a>)));
        assert!(!is_context(&syn::parse_quote!(String)));
    }

    fn errors_of(ty: Type, role: Role) -> usize {
        let mut errors = Errors::default();
        check_owned(&ty, role, &mut errors);
        errors.count()
    }

    #[test]
    fn borrows_are_found() {
        assert_eq!(errors_of(syn::parse_quote!(&str), Role::Param), 1);
        assert_eq!(errors_of(syn::parse_quote!(Vec<&'a str>), Role::Param), 1);
        assert_eq!(errors_of(syn::parse_quote!(Cow<'_, str>), Role::Param), 1);
        assert_eq!(errors_of(syn::parse_quote!(&'static str), Role::Param), 0);
        assert_eq!(errors_of(syn::parse_quote!(fn(&str) -> u8), Role::Param), 0);
        assert_eq!(
            errors_of(syn::parse_quote!(Box<dyn Fn(&str) + Send>), Role::Param),
            0
        );
        assert_eq!(
            errors_of(syn::parse_quote!(Box<dyn for<'a> Tr<'a>>), Role::Param),
            0
        );
        assert_eq!(
            errors_of(syn::parse_quote!(impl Display + 'a), Role::Param),
            1
        );
        assert_eq!(
            errors_of(syn::parse_quote!(impl Display), Role::Output("a task")),
            1
        );
    }
}
