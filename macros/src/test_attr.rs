//! `#[graceful::test]`: `async fn name(ctx: Context, test: Test)` becomes a
//! `#[test] fn name()` that runs the body with `graceful::Runtime::test`, a
//! supervised lifecycle on a current-thread runtime with a paused clock.

use std::time::Duration;

use proc_macro2::{Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Attribute, Expr, ExprLit, FnArg, Lit, PatType, Path, Type};

mod output;

use crate::errors::Errors;
use crate::item::{FnItem, with_output_type};
use crate::main_attr::{deadline, duration_tokens};
use crate::options::{self, CRATE, Key, Spec};
use crate::signature::{self, Attr};
use crate::types::{is_context, tokens};
use crate::values::{self, Flavor};

const ATTR: Attr = Attr {
    path: "graceful::test",
    subject: "a test",
    by_value_note: "",
};

/// The options of `#[graceful::test]`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TestKey {
    Timeout,
    LameDuck,
    StartPaused,
    Flavor,
    WorkerThreads,
    Crate,
}

impl Key for TestKey {
    const ALL: &'static [TestKey] = &[
        TestKey::Timeout,
        TestKey::LameDuck,
        TestKey::StartPaused,
        TestKey::Flavor,
        TestKey::WorkerThreads,
        TestKey::Crate,
    ];

    #[rustfmt::skip]
    fn spec(self) -> &'static Spec {
        match self {
            TestKey::Timeout => &Spec { name: "timeout", takes: "the shutdown deadline as a duration string", example: "timeout = \"30s\"" },
            TestKey::LameDuck => &Spec { name: "lame_duck", takes: "a duration string", example: "lame_duck = \"5s\"" },
            TestKey::StartPaused => &Spec { name: "start_paused", takes: "`true` or `false`", example: "start_paused = false" },
            TestKey::Flavor => &Spec { name: "flavor", takes: "`\"current_thread\"` or `\"multi_thread\"`", example: "flavor = \"multi_thread\"" },
            TestKey::WorkerThreads => &Spec { name: "worker_threads", takes: "a number of threads", example: "worker_threads = 2" },
            TestKey::Crate => &CRATE,
        }
    }
}

/// The options, each `None` when not given (or given wrong).
#[derive(Default)]
struct Config {
    timeout: Option<Duration>,
    lame_duck: Option<Duration>,
    start_paused: Option<bool>,
    flavor: Option<Flavor>,
    worker_threads: Option<usize>,
    krate: Option<Path>,
}

impl Config {
    fn parse(args: TokenStream, errors: &mut Errors) -> Config {
        let mut config = Config::default();
        let mut flavor_at = None;
        let mut threads_at = None;
        options::parse(
            args,
            ATTR.path,
            errors,
            |key: TestKey, ident, value, errors| {
                let spec = key.spec();
                match key {
                    TestKey::Timeout => config.timeout = deadline(&value, spec, errors),
                    TestKey::LameDuck => config.lame_duck = values::duration(&value, spec, errors),
                    TestKey::StartPaused => config.start_paused = boolean(&value, spec, errors),
                    TestKey::Flavor => {
                        config.flavor = values::flavor(&value, spec, errors);
                        flavor_at = Some(value);
                    }
                    TestKey::WorkerThreads => {
                        config.worker_threads = values::count(&value, spec, errors);
                        threads_at = Some(ident.clone());
                    }
                    TestKey::Crate => config.krate = values::crate_path(&value, errors),
                }
            },
        );
        let multi_thread = config.flavor == Some(Flavor::MultiThread);
        if let Some(at) = &flavor_at
            && multi_thread
            && config.start_paused != Some(false)
        {
            errors.at(
                at,
                "a test's clock starts paused, and a paused clock needs the `current_thread` flavor: add `start_paused = false` to run the test on `multi_thread`, or remove `flavor = \"multi_thread\"`",
            );
            config.flavor = None;
        }
        if let Some(at) = threads_at
            && !multi_thread
        {
            errors.at(
                at,
                "`worker_threads` needs `flavor = \"multi_thread\"` (a test runs on `current_thread` unless told): add it with `start_paused = false`, or remove `worker_threads`",
            );
            config.worker_threads = None;
        }
        config
    }
}

/// `true` or `false`.
fn boolean(value: &Expr, spec: &Spec, errors: &mut Errors) -> Option<bool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.value),
        _ => {
            errors.at(value, spec.expected());
            None
        }
    }
}

/// The parameters the body takes, each at most once, in any order.
#[derive(Default)]
struct Params<'a> {
    ctx: Option<&'a PatType>,
    test: Option<&'a PatType>,
}

/// Expands `#[graceful::test(args)] item`. On a misuse, the item comes back
/// unchanged beside the errors; on a bad option only, it is expanded
/// without that option.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let config = Config::parse(args, &mut errors);
    let f = match FnItem::parse_or_keep(item, ATTR.path, &mut errors) {
        Ok(f) => f,
        Err(kept) => return kept,
    };
    let mut misuse = Errors::default();
    let params = check(&f, &mut misuse);
    let expanded = if misuse.is_empty() {
        generate(&f, &params, &config)
    } else {
        errors.push_all(misuse);
        f.without_const().into_token_stream()
    };
    let errors = errors.to_compile_errors();
    quote!(#expanded #errors)
}

fn check<'a>(f: &'a FnItem, errors: &mut Errors) -> Params<'a> {
    let sig = &f.sig;
    signature::check_qualifiers(sig, &ATTR, errors);
    if !sig.generics.params.is_empty() {
        errors.at(
            &sig.generics,
            format!(
                "a test cannot be generic: remove `{}`",
                tokens(&sig.generics)
            ),
        );
    }
    if let Some(w) = &sig.generics.where_clause {
        errors.at(w, "a test cannot have a `where` clause: remove it");
    }
    for attr in f.attrs.iter().filter(|a| is_test_attr(a)) {
        errors.at(
            attr,
            format!(
                "`#[graceful::test]` makes `{}` a test already: remove `{}`",
                sig.ident,
                tokens(attr)
            ),
        );
    }
    let mut params = Params::default();
    for arg in &sig.inputs {
        let t = match arg {
            FnArg::Receiver(r) => {
                errors.at(r, "a test cannot take `self`: remove it");
                continue;
            }
            FnArg::Typed(t) => t,
        };
        let slot = if is_context(&t.ty) {
            &mut params.ctx
        } else if is_test_handle(&t.ty) {
            &mut params.test
        } else {
            if !signature::borrowed_context(t, &ATTR, errors) && !borrowed_test(t, errors) {
                errors.at(
                    t,
                    format!(
                        "a test takes `ctx: Context` and `test: Test`, either or both, and nothing else: remove `{}`",
                        tokens(t)
                    ),
                );
            }
            continue;
        };
        if slot.is_some() {
            errors.at(
                t,
                format!(
                    "a test takes one `{}`: remove `{}`",
                    tokens(&t.ty),
                    tokens(t)
                ),
            );
        } else {
            *slot = Some(t);
        }
    }
    output::check(&sig.output, errors);
    params
}

/// `#[test]`, `#[tokio::test]`, a second `#[graceful::test]`...
fn is_test_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "test")
}

/// Whether `ty` is written as graceful's `Test` (by its last path segment).
fn is_test_handle(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Test" && s.arguments.is_none()),
        Type::Group(g) => is_test_handle(&g.elem),
        Type::Paren(p) => is_test_handle(&p.elem),
        _ => false,
    }
}

/// Reports `test: &Test`; whether `param` is one.
fn borrowed_test(param: &PatType, errors: &mut Errors) -> bool {
    let Type::Reference(r) = &*param.ty else {
        return false;
    };
    if !is_test_handle(&r.elem) {
        return false;
    }
    errors.at(
        &param.ty,
        format!(
            "a test takes its `Test` by value: write `{}: {}`",
            tokens(&param.pat),
            tokens(&r.elem)
        ),
    );
    true
}

fn generate(f: &FnItem, params: &Params<'_>, config: &Config) -> TokenStream {
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

    let mut runtime = quote!(#krate::Runtime::new());
    if let Some(d) = config.timeout {
        let d = duration_tokens(d);
        runtime = quote!(#runtime.timeout(#d));
    }
    if let Some(d) = config.lame_duck {
        let d = duration_tokens(d);
        runtime = quote!(#runtime.lame_duck(#d));
    }
    if config.start_paused == Some(false) {
        runtime = quote!(#runtime.start_paused(false));
    }
    match config.flavor {
        Some(Flavor::CurrentThread) => {
            runtime = quote!(#runtime.flavor(#krate::Flavor::CurrentThread));
        }
        Some(Flavor::MultiThread) => runtime = quote!(#runtime.flavor(#krate::Flavor::MultiThread)),
        None => {}
    }
    if let Some(n) = config.worker_threads {
        let n = Literal::usize_unsuffixed(n);
        runtime = quote!(#runtime.worker_threads(#n));
    }

    let ctx = param(params.ctx, quote!(#krate::Context));
    let test = param(params.test, quote!(#krate::Test));
    let (output, output_span) = f.output();
    // The body's braces, now inside a block, would be "unnecessary" to the
    // `unused_braces` lint: they are the expansion's, at the user's place.
    let mut braces = body.clone();
    braces.set_span(Span::call_site().located_at(body.span()));
    let body = with_output_type(&output, output_span, &braces);
    // The bound on the output is checked at the return type.
    let run = quote_spanned!(output_span=> test);
    let run = quote_spanned!(ident.span()=> .#run);

    quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #ident() {
            #runtime #run(move |#ctx, #test| async move #body)
        }
    }
}

/// The closure's parameter for `param`, or `_` of type `ty` if the test
/// does not take it.
fn param(param: Option<&PatType>, ty: TokenStream) -> TokenStream {
    match param {
        Some(PatType { attrs, pat, ty, .. }) => quote!(#(#attrs)* #pat: #ty),
        None => quote!(_: #ty),
    }
}
