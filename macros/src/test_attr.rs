//! `#[graceful::test]`: `async fn name(ctx: Context, test: Test)` becomes a
//! `#[test] fn name()` that runs the body with `graceful::Runtime::test`, a
//! supervised lifecycle on a current-thread runtime with a paused clock.

use std::time::Duration;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Attribute, Expr, ExprLit, FnArg, Lit, PatType, Path, Type};

mod output;

use crate::errors::Errors;
use crate::item::{FnItem, with_output_type};
use crate::main_attr::{MainKey, deadline};
use crate::options::{self, CRATE, OptionKey, Spec};
use crate::signature::{self, Attr};
use crate::types::{is_context, tokens};
use crate::values::duration_tokens;
use crate::values::{self, FlavorOption};

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

impl OptionKey for TestKey {
    const ALL: &'static [TestKey] = &[
        TestKey::Timeout,
        TestKey::LameDuck,
        TestKey::StartPaused,
        TestKey::Flavor,
        TestKey::WorkerThreads,
        TestKey::Crate,
    ];

    /// The options `#[graceful::main]` has too are spelled as there.
    #[rustfmt::skip]
    fn spec(self) -> &'static Spec {
        match self {
            TestKey::Timeout => MainKey::Timeout.spec(),
            TestKey::LameDuck => MainKey::LameDuck.spec(),
            TestKey::StartPaused => &Spec { name: "start_paused", takes: "`true` or `false`", example: "start_paused = false" },
            TestKey::Flavor => &Spec { name: "flavor", takes: "`\"current_thread\"` or `\"multi_thread\"`", example: "flavor = \"multi_thread\"" },
            TestKey::WorkerThreads => MainKey::WorkerThreads.spec(),
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
    flavor: Option<FlavorOption>,
    worker_threads: Option<usize>,
    krate: Option<Path>,
    /// Where `flavor` and `worker_threads` are written, for the checks of
    /// the two together.
    flavor_at: Option<Expr>,
    threads_at: Option<Ident>,
}

impl Config {
    fn parse(args: TokenStream, errors: &mut Errors) -> Config {
        let mut config = Config::default();
        let set = |key, ident: &Ident, value, errors: &mut Errors| {
            config.set(key, ident, value, errors);
        };
        options::parse(args, ATTR.path, errors, set);
        config.check_flavor(errors);
        config
    }

    fn set(&mut self, key: TestKey, ident: &Ident, value: Expr, errors: &mut Errors) {
        let spec = key.spec();
        match key {
            TestKey::Timeout => self.timeout = deadline(&value, spec, errors),
            TestKey::LameDuck => self.lame_duck = values::duration(&value, spec, errors),
            TestKey::StartPaused => self.start_paused = boolean(&value, spec, errors),
            TestKey::Flavor => {
                self.flavor = values::one_of(&value, spec, "flavor", values::FLAVORS, errors);
                self.flavor_at = Some(value);
            }
            TestKey::WorkerThreads => {
                self.worker_threads = values::count(&value, spec, errors);
                self.threads_at = Some(ident.clone());
            }
            TestKey::Crate => self.krate = values::crate_path(&value, errors),
        }
    }

    /// `multi_thread` needs the real clock, `worker_threads` needs
    /// `multi_thread`.
    fn check_flavor(&mut self, errors: &mut Errors) {
        let multi_thread = self.flavor == Some(FlavorOption::MultiThread);
        if let Some(at) = &self.flavor_at
            && multi_thread
            && self.start_paused != Some(false)
        {
            errors.at(
                at,
                "a test's clock starts paused, and a paused clock needs the `current_thread` flavor: add `start_paused = false` to run the test on `multi_thread`, or remove `flavor = \"multi_thread\"`",
            );
            self.flavor = None;
        }
        if let Some(at) = &self.threads_at
            && !multi_thread
        {
            errors.at(
                at,
                "`worker_threads` needs `flavor = \"multi_thread\"` (a test runs on `current_thread` unless told): add it with `start_paused = false`, or remove `worker_threads`",
            );
            self.worker_threads = None;
        }
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

/// Expands `#[graceful::test(args)] item` into a `#[test]` function; on a
/// misuse, into the item as written beside the errors. A bad option alone
/// is reported and left out of the expansion.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let config = Config::parse(args, &mut errors);
    let expanded = match FnItem::parse_or_keep(item, ATTR.path, &mut errors) {
        Err(kept) => return kept,
        Ok(f) => match check(&f) {
            Ok(params) => generate(&f, &params, &config),
            Err(misuse) => {
                errors.push_all(misuse);
                f.without_const().into_token_stream()
            }
        },
    };
    let errors = errors.to_compile_errors();
    quote!(#expanded #errors)
}

/// The parameters of a well-formed test; every misuse otherwise.
fn check(f: &FnItem) -> Result<Params<'_>, Errors> {
    let mut errors = Errors::default();
    let params = check_into(f, &mut errors);
    if errors.is_empty() {
        Ok(params)
    } else {
        Err(errors)
    }
}

fn check_into<'a>(f: &'a FnItem, errors: &mut Errors) -> Params<'a> {
    let sig = &f.sig;
    signature::check_qualifiers(sig, &ATTR, errors);
    // The harness calls a test with nothing to choose its generics by.
    let generics = &sig.generics;
    if generics.lt_token.is_some() {
        let message = format!("a test cannot be generic: remove `{}`", tokens(generics));
        errors.at(generics, message);
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

/// Whether `ty` is written as graceful's `Test`: `Test`, `graceful::Test`.
fn is_test_handle(ty: &Type) -> bool {
    let written = tokens(ty);
    written == "Test" || written.ends_with("::Test")
}

/// Reports `test: &Test`; whether `param` is one.
fn borrowed_test(param: &PatType, errors: &mut Errors) -> bool {
    match &*param.ty {
        Type::Reference(r) if is_test_handle(&r.elem) => {
            let by_value = format!("{}: {}", tokens(&param.pat), tokens(&r.elem));
            let message = format!("a test takes its `Test` by value: write `{by_value}`");
            errors.at(&param.ty, message);
            true
        }
        _ => false,
    }
}

fn generate(f: &FnItem, params: &Params<'_>, config: &Config) -> TokenStream {
    let krate = config
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::graceful));
    let calls = [
        config
            .timeout
            .map(duration_tokens)
            .map(|d| quote!(.timeout(#d))),
        config
            .lame_duck
            .map(duration_tokens)
            .map(|d| quote!(.lame_duck(#d))),
        (config.start_paused == Some(false)).then(|| quote!(.start_paused(false))),
        config.flavor.map(|flavor| match flavor {
            FlavorOption::CurrentThread => quote!(.flavor(#krate::Flavor::CurrentThread)),
            FlavorOption::MultiThread => quote!(.flavor(#krate::Flavor::MultiThread)),
        }),
        config.worker_threads.map(|n| {
            let n = Literal::usize_unsuffixed(n);
            quote!(.worker_threads(#n))
        }),
    ];
    let ctx = param(params.ctx, quote!(#krate::Context));
    let test = param(params.test, quote!(#krate::Test));
    let (output, output_span) = f.output();
    // The body's braces, now inside a block, would be "unnecessary" to the
    // `unused_braces` lint: they are the expansion's, at the user's place.
    let mut braces = f.body.clone();
    braces.set_span(Span::call_site().located_at(f.body.span()));
    let body = with_output_type(&output, output_span, &braces);
    // The bound on the output is checked at the return type.
    let (attrs, vis, ident) = (&f.attrs, &f.vis, &f.sig.ident);
    let run = quote_spanned!(output_span=> test);
    let run = quote_spanned!(ident.span()=> .#run);
    quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #ident() {
            #krate::Runtime::new() #(#calls)* #run(move |#ctx, #test| async move #body)
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
