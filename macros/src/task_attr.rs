//! `#[graceful::task]`: an `async fn f(ctx: Context, args..) -> R` becomes a
//! plain `fn f(ctx: &Context, args..) -> TaskHandle<R>` that starts its body
//! as a tracked task of `ctx`'s scope.

use proc_macro2::{Group, Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{FnArg, GenericParam, LitStr, Pat, PatType, Receiver};

use crate::errors::Errors;
use crate::item::{FnItem, respan, with_output_type};
use crate::restart::rerun;
use crate::signature;
use crate::types::{Role, check_owned, check_owned_except, is_context, tokens};

mod args;
mod config;
mod stub;

use args::{arg_checks, checked_ident};
use config::{ATTR, Config};

/// The signature split into what the expansion needs.
struct Parts<'a> {
    receiver: Option<&'a Receiver>,
    ctx: &'a PatType,
    rest: Vec<&'a PatType>,
}

/// Expands `#[graceful::task(args)] item`. On a misuse, a stub with the
/// documented calling convention (the item inside) comes back beside the
/// errors; on a bad option only, it is expanded with the defaults beside the
/// errors.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let config = Config::parse(args, &mut errors);
    let f = match FnItem::parse_or_keep(item, ATTR.path, &mut errors) {
        Ok(f) => f,
        Err(kept) => return kept,
    };
    let mut misuse = Errors::default();
    let parts = check(&f, &mut misuse);
    match parts {
        Some(parts) if misuse.is_empty() => {
            let expanded = generate(&f, &parts, &config);
            let errors = errors.to_compile_errors();
            quote!(#expanded #errors)
        }
        _ => {
            errors.push_all(misuse);
            let errors = errors.to_compile_errors();
            let stub = stub::stub(&f, config.krate.as_ref());
            quote!(#stub #errors)
        }
    }
}

/// Checks the signature, reporting every misuse; `None` if it has no
/// `Context` parameter at all.
fn check<'a>(f: &'a FnItem, errors: &mut Errors) -> Option<Parts<'a>> {
    let sig = &f.sig;
    signature::check_qualifiers(sig, &ATTR, errors);
    let mut lifetimes = Vec::new();
    for param in &sig.generics.params {
        if let GenericParam::Lifetime(lt) = param {
            lifetimes.push(&lt.lifetime);
            errors.at(
                &lt.lifetime,
                format!(
                    "a task outlives the call that starts it, so it cannot have lifetime parameters: remove `{}` and take owned values",
                    lt.lifetime
                ),
            );
        }
    }

    let mut inputs = sig.inputs.iter().peekable();
    let receiver = match inputs.peek() {
        Some(FnArg::Receiver(r)) => {
            inputs.next();
            if let syn::ReceiverKind::Reference(..) = r.kind {
                errors.at(
                    r,
                    format!(
                        "a task outlives the call that starts it, so it cannot borrow `self`: take `self: Arc<Self>` or `self` by value instead of `{}`",
                        tokens(r)
                    ),
                );
            } else if let syn::ReceiverKind::Typed(_, ty) = &r.kind {
                check_owned(ty, Role::Receiver, errors);
            }
            Some(r)
        }
        _ => None,
    };
    let typed: Vec<&PatType> = inputs
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .collect();

    let ctx = match typed.first() {
        Some(first) if is_context(&first.ty) => Some(*first),
        Some(first) => {
            if !signature::borrowed_context(first, &ATTR, errors) {
                match typed.iter().find(|t| is_context(&t.ty)) {
                    Some(later) => errors.at(
                        later,
                        format!(
                            "the `Context` must be the first parameter of a task: move `{}` to the front",
                            tokens(*later)
                        ),
                    ),
                    None => errors.at(
                        first,
                        format!(
                            "the first parameter of a task must be its `Context`: write `ctx: Context` before `{}`",
                            tokens(*first)
                        ),
                    ),
                }
            }
            None
        }
        None => {
            errors.at_span(
                sig.paren_token.span.join(),
                format!(
                    "a task takes its `Context` as first parameter: write `{}(ctx: Context)`",
                    sig.ident
                ),
            );
            None
        }
    };

    let rest: Vec<&PatType> = typed.iter().skip(1).copied().collect();
    for param in &rest {
        check_owned_except(&param.ty, Role::Param, &lifetimes, errors);
    }

    signature::check_output(sig, &ATTR, errors);

    Some(Parts {
        receiver,
        ctx: ctx?,
        rest,
    })
}

fn generate(f: &FnItem, parts: &Parts<'_>, config: &Config) -> TokenStream {
    let FnItem {
        attrs,
        vis,
        sig,
        body,
    } = f;
    let krate = config
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::graceful));
    let ident = &sig.ident;
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;
    let name = config
        .name
        .clone()
        .unwrap_or_else(|| LitStr::new(&ident.unraw().to_string(), ident.span()));

    let PatType {
        attrs: ctx_attrs,
        pat: ctx_pat,
        ty: ctx_ty,
        ..
    } = parts.ctx;
    // The caller's context keeps the user's name, so docs and IDEs show
    // `ctx: &Context`; `_ctx` and patterns become a hygienic `ctx` (the
    // generated code uses it, which `_ctx` would lint about).
    let parent = match &**ctx_pat {
        Pat::Ident(p)
            if p.subpat.is_none()
                && p.by_ref.is_none()
                && !p.ident.unraw().to_string().starts_with('_') =>
        {
            Ident::new(&p.ident.unraw().to_string(), p.ident.span())
        }
        _ => Ident::new("ctx", Span::mixed_site()),
    };

    let (output, output_span) = f.output();
    let site = quote_spanned! {ident.span()=>
        {
            static SITE: #krate::__private::Site = #krate::__private::Site {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
            };
            &SITE
        }
    };
    // The output is checked where it is written: one that is not a
    // `TaskOutput` is reported there, and makes the body's type an error
    // that silences the same error at the spawn.
    let krate_there = respan(krate.to_token_stream(), output_span);
    // The spawn is spanned at the task's name: a body that is not `Send` is
    // reported there. It is told the output as checked above; the handle's
    // value type (`T` of `TaskHandle<T>`) is read from it, so an output
    // that is not a `TaskOutput` is reported at its own type and once more
    // at the name, where the compiler says which bound of the error type
    // fails.
    let krate_at_name = respan(krate.to_token_stream(), ident.span());
    let checked: syn::Type = syn::parse_quote_spanned! {output_span=>
        <#output as #krate_there::bounds::Output>::Checked
    };
    // The body's future is checked to be `Send` by a public function, in
    // a statement before the spawn and spanned at the name: a future that
    // is not is reported there, as required by
    // `bounds::runs_on_any_thread`, and not again by the spawn's bound.
    let run = |body: &Group| {
        let body = with_output_type(&checked, output_span, body);
        let future = Ident::new("__graceful_future", Span::mixed_site());
        let check =
            quote_spanned!(ident.span()=> #krate_at_name::bounds::runs_on_any_thread(#future));
        quote!(let #future = async move #body; #check)
    };
    let body_fn = Ident::new("__graceful_body", Span::mixed_site());
    let restarted = config.restart.is_some();
    let args = arg_checks(&krate, &parts.rest, !restarted);
    let (receiver, params, checks, call) = match &config.restart {
        None => {
            let policy = match config.policy {
                None => quote!(::core::option::Option::None),
                Some(policy) => {
                    let variant = Ident::new(policy.variant(), Span::call_site());
                    quote!(::core::option::Option::Some(#krate::Policy::#variant))
                }
            };
            let run = run(body);
            let closure = quote!(move |#(#ctx_attrs)* #ctx_pat: #ctx_ty| { #run });
            let call = quote_spanned! {ident.span()=>
                let #body_fn = #closure;
                #krate_at_name::__private::spawn_task::<_, _, #checked>(#parent, #name, #site, #policy, #body_fn)
            };
            // An argument rebound by its check is declared `mut` there.
            let rest = parts
                .rest
                .iter()
                .map(|param| match checked_ident(param) {
                    Some(p) => {
                        let (attrs, ident, ty) = (&param.attrs, &p.ident, &param.ty);
                        quote!(#(#attrs)* #ident: #ty)
                    }
                    None => param.to_token_stream(),
                })
                .collect();
            let receiver = parts.receiver.map(ToTokens::to_token_stream);
            (receiver, rest, TokenStream::new(), call)
        }
        Some(restart) => {
            let rerun = rerun(&krate, parts.receiver, &parts.rest, body);
            let restart = restart.to_tokens(&krate);
            let (takes, run) = (&rerun.takes, run(&rerun.body));
            let closure = quote!(move |#(#ctx_attrs)* #ctx_pat: #ctx_ty| { #takes #run });
            let call = quote_spanned! {ident.span()=>
                let #body_fn = #closure;
                #krate_at_name::__private::spawn_restarting_task::<_, _, #checked>(#parent, #name, #site, #restart, #body_fn)
            };
            (rerun.receiver, rerun.params, rerun.checks, call)
        }
    };
    let receiver = receiver.map(|r| quote!(#r,));
    let value = FnItem::handle_value(
        &output,
        quote_spanned!(output_span=> <#checked as #krate_there::TaskOutput>::Value),
    );

    quote! {
        #(#attrs)*
        #[track_caller]
        #vis fn #ident #generics (
            #receiver
            #parent: &#ctx_ty,
            #(#params),*
        ) -> #krate::TaskHandle<#value> #where_clause {
            #checks
            #args
            #call
        }
    }
}
