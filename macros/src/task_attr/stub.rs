//! What a misused `#[graceful::task]` expands to beside its errors: a
//! function with the documented calling convention, `fn f(ctx: &Context,
//! args..) -> TaskHandle<R>`, so that call sites written after the docs do
//! not add errors of their own; and, inside it, the user's function as
//! written, so that its body is still type-checked (and an IDE still helps).

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{FnArg, Path, ReturnType, Type};

use crate::errors::Errors;
use crate::item::FnItem;
use crate::signature;
use crate::types::is_context;

use super::ATTR;

/// The stub of `f`, whose signature has errors (already reported).
pub(super) fn stub(f: &FnItem, krate: Option<&Path>) -> TokenStream {
    let krate = krate
        .cloned()
        .unwrap_or_else(|| syn::parse_quote!(::graceful));
    let sig = &f.sig;
    let (attrs, vis, ident, generics) = (&f.attrs, &f.vis, &sig.ident, &sig.generics);
    let where_clause = &generics.where_clause;
    let mut receiver = None;
    let mut context = None;
    let mut params = Vec::new();
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(r) => receiver = Some(quote!(#r,)),
            FnArg::Typed(t) => match context_type(&t.ty) {
                Some(ty) if context.is_none() => context = Some(ty.clone()),
                _ => params.push(&t.ty),
            },
        }
    }
    let context = context.unwrap_or_else(|| syn::parse_quote!(#krate::Context));
    let output = match &sig.output {
        ReturnType::Type(_, ty) if output_is_valid(f) => {
            FnItem::handle_value(ty, quote!(<#ty as #krate::TaskOutput>::Value))
        }
        _ => quote!(()),
    };
    // A nested function cannot name the outer item's `Self`: a method keeps
    // only the stub.
    let original = (!mentions_self(f.to_token_stream())).then(|| {
        let f = f.without_const();
        quote!(#[allow(dead_code)] #f)
    });
    quote! {
        #(#attrs)*
        #vis fn #ident #generics (#receiver _: &#context, #(_: #params),*)
            -> #krate::TaskHandle<#output> #where_clause
        {
            #original
            ::core::unreachable!()
        }
    }
}

/// `Context` in `Context` or `&Context`.
fn context_type(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Reference(r) if is_context(&r.elem) => Some(&r.elem),
        ty if is_context(ty) => Some(ty),
        _ => None,
    }
}

/// Whether the output can be named in `TaskHandle<R>` (no `!`, no borrow).
fn output_is_valid(f: &FnItem) -> bool {
    let mut errors = Errors::default();
    signature::check_output(&f.sig, &ATTR, &mut errors);
    errors.is_empty()
}

/// Whether `self` or `Self` appears anywhere in `tokens`.
fn mentions_self(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == "self" || i == "Self",
        TokenTree::Group(g) => mentions_self(g.stream()),
        _ => false,
    })
}
