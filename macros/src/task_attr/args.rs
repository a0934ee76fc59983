//! The checks of a task's arguments in its expansion.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote_spanned};
use syn::{Pat, PatIdent, PatType, Path};

use crate::item::respan;
use crate::restart::mentions_impl;

/// Rebinds each argument named by an identifier as `<T as TaskArg>::Arg`
/// (with its `mut` if `with_mut`), spanned at its type `T`: a `T` that is
/// not `Send` is reported there, and not again where the body holds it.
pub(super) fn arg_checks(krate: &Path, rest: &[&PatType], with_mut: bool) -> TokenStream {
    let mut checks = TokenStream::new();
    for param in rest {
        let Some(p) = checked_ident(param) else {
            continue;
        };
        let (ty, ident) = (&param.ty, &p.ident);
        let mutability = p.mutability.filter(|_| with_mut);
        // `<` at the type's first token, `::Arg` at its last: the error
        // underlines the whole type.
        let (first, last) = ends(ty);
        let krate = respan(krate.to_token_stream(), last);
        let open = quote_spanned!(first=> <);
        let rest = quote_spanned!(last=> as #krate::bounds::TaskArg>::Arg);
        checks.extend(quote_spanned! {first=>
            let #mutability #ident: #open #ty #rest = #ident;
        });
    }
    checks
}

/// The binding of an argument that `arg_checks` rebinds: a plain name, of a
/// type that can be named (no `impl Trait`).
pub(super) fn checked_ident(param: &PatType) -> Option<&PatIdent> {
    match &*param.pat {
        Pat::Ident(p)
            if p.by_ref.is_none()
                && p.subpat.is_none()
                && !mentions_impl(param.ty.to_token_stream()) =>
        {
            Some(p)
        }
        _ => None,
    }
}

/// The spans of the first and the last token of `ty`.
fn ends(ty: &impl ToTokens) -> (Span, Span) {
    let mut spans = ty.to_token_stream().into_iter().map(|tt| tt.span());
    let first = spans.next().unwrap_or_else(Span::call_site);
    (first, spans.last().unwrap_or(first))
}
