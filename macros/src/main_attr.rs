//! `#[graceful::main]`: `async fn main(ctx: Context) -> R` becomes a plain
//! `fn main()` that configures a `graceful::Runtime` and runs the body as the
//! root task.

use std::time::Duration;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Expr, FnArg, LitStr, Path};

use crate::errors::Errors;
use crate::item::{FnItem, respan, with_output_type};
use crate::options::{self, CRATE, OptionKey, Spec};
use crate::signature::{self, Attr};
use crate::types::{is_context, tokens};
use crate::values::{self, FlavorOption};

const ATTR: Attr = Attr {
    path: "graceful::main",
    subject: "`main`",
    by_value_note: "",
};

/// The options of `#[graceful::main]`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MainKey {
    Timeout,
    LameDuck,
    Signals,
    Flavor,
    WorkerThreads,
    Crate,
}

impl OptionKey for MainKey {
    const ALL: &'static [MainKey] = &[
        MainKey::Timeout,
        MainKey::LameDuck,
        MainKey::Signals,
        MainKey::Flavor,
        MainKey::WorkerThreads,
        MainKey::Crate,
    ];

    #[rustfmt::skip]
    fn spec(self) -> &'static Spec {
        match self {
            MainKey::Timeout => &Spec { name: "timeout", takes: "the shutdown deadline as a duration string", example: "timeout = \"30s\"" },
            MainKey::LameDuck => &Spec { name: "lame_duck", takes: "a duration string", example: "lame_duck = \"5s\"" },
            MainKey::Signals => &Spec { name: "signals", takes: "a list of signal names", example: "signals = [\"SIGINT\", \"SIGTERM\"]" },
            MainKey::Flavor => &Spec { name: "flavor", takes: "`\"multi_thread\"` or `\"current_thread\"`", example: "flavor = \"current_thread\"" },
            MainKey::WorkerThreads => &Spec { name: "worker_threads", takes: "a number of threads", example: "worker_threads = 4" },
            MainKey::Crate => &CRATE,
        }
    }
}

/// The options, each `None` when not given (or given wrong).
#[derive(Default)]
struct MainConfig {
    timeout: Option<Duration>,
    lame_duck: Option<Duration>,
    /// The signal names as written, each spelled once.
    signals: Option<Vec<LitStr>>,
    flavor: Option<FlavorOption>,
    worker_threads: Option<(usize, Ident)>,
    krate: Option<Path>,
}

impl MainConfig {
    fn parse(args: TokenStream, errors: &mut Errors) -> MainConfig {
        let mut config = MainConfig::default();
        options::parse(
            args,
            ATTR.path,
            errors,
            |key: MainKey, ident, value, errors| {
                let spec = key.spec();
                match key {
                    MainKey::Timeout => config.timeout = deadline(&value, spec, errors),
                    MainKey::LameDuck => config.lame_duck = values::duration(&value, spec, errors),
                    MainKey::Signals => config.signals = values::signals(&value, spec, errors),
                    MainKey::Flavor => {
                        config.flavor =
                            values::one_of(&value, spec, "flavor", values::FLAVORS, errors);
                    }
                    MainKey::WorkerThreads => {
                        config.worker_threads =
                            values::count(&value, spec, errors).map(|n| (n, ident.clone()));
                    }
                    MainKey::Crate => config.krate = values::crate_path(&value, errors),
                }
            },
        );
        if let (Some((_, ident)), Some(FlavorOption::CurrentThread)) =
            (&config.worker_threads, config.flavor)
        {
            errors.at(
                ident,
                "`worker_threads` needs the `multi_thread` flavor: remove it, or remove `flavor = \"current_thread\"`",
            );
            config.worker_threads = None;
        }
        config
    }
}

/// The `timeout`: a duration other than zero.
pub(crate) fn deadline(value: &Expr, spec: &Spec, errors: &mut Errors) -> Option<Duration> {
    let deadline = values::duration(value, spec, errors)?;
    if deadline.is_zero() {
        errors.at(
            value,
            "a zero deadline would end every shutdown at once with code 124: write a duration such as `\"30s\"`",
        );
        return None;
    }
    Some(deadline)
}

/// Expands `#[graceful::main(args)] item`. On a misuse the user's function is
/// kept, nested in an empty `fn main()` so that no "`main` function not found"
/// or "`main` cannot be `async`" follows; on a bad option only, it is
/// expanded without that option.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let config = MainConfig::parse(args, &mut errors);
    let f = match FnItem::parse_or_keep(item, ATTR.path, &mut errors) {
        Ok(f) => f,
        Err(kept) => return kept,
    };
    let mut misuse = Errors::default();
    check(&f, &mut misuse);
    let expanded = if misuse.is_empty() {
        generate(&f, &config)
    } else {
        errors.push_all(misuse);
        let FnItem { vis, sig, .. } = &f;
        let ident = &sig.ident;
        let f = f.without_const();
        let is_entry_point = ident == "main" && sig.receiver().is_none();
        if is_entry_point {
            quote! {
                #[allow(dead_code)]
                #vis fn #ident() {
                    #f
                }
            }
        } else {
            quote!(#f)
        }
    };
    let errors = errors.to_compile_errors();
    quote!(#expanded #errors)
}

fn check(f: &FnItem, errors: &mut Errors) {
    let sig = &f.sig;
    signature::check_qualifiers(sig, &ATTR, errors);
    if !sig.generics.params.is_empty() {
        errors.at(
            &sig.generics,
            format!(
                "`main` cannot be generic: remove `{}`",
                tokens(&sig.generics)
            ),
        );
    }
    if let Some(w) = &sig.generics.where_clause {
        errors.at(w, "`main` cannot have a `where` clause: remove it");
    }
    for (i, arg) in sig.inputs.iter().enumerate() {
        match arg {
            FnArg::Receiver(r) => errors.at(r, "`main` cannot take `self`: remove it"),
            FnArg::Typed(t) if i == 0 && is_context(&t.ty) => {}
            FnArg::Typed(t) => {
                if !signature::borrowed_context(t, &ATTR, errors) {
                    errors.at(
                        t,
                        format!(
                            "`main` takes no parameters or one `ctx: Context`: remove `{}` (read the command line with `std::env::args()`)",
                            tokens(t)
                        ),
                    );
                }
            }
        }
    }
    signature::check_output(sig, &ATTR, errors);
}

fn generate(f: &FnItem, config: &MainConfig) -> TokenStream {
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
        let d = values::duration_tokens(d);
        runtime = quote!(#runtime.timeout(#d));
    }
    if let Some(d) = config.lame_duck {
        let d = values::duration_tokens(d);
        runtime = quote!(#runtime.lame_duck(#d));
    }
    if let Some(names) = &config.signals {
        let signals = names.iter().map(|name| signal_tokens(&krate, name));
        runtime = quote!(#runtime.signals([#(#signals),*]));
    }
    if let Some(FlavorOption::CurrentThread) = config.flavor {
        runtime = quote!(#runtime.flavor(#krate::Flavor::CurrentThread));
    }
    if let Some(FlavorOption::MultiThread) = config.flavor {
        runtime = quote!(#runtime.flavor(#krate::Flavor::MultiThread));
    }
    if let Some((n, _)) = &config.worker_threads {
        let n = Literal::usize_unsuffixed(*n);
        runtime = quote!(#runtime.worker_threads(#n));
    }

    let ctx_param = match sig.inputs.first() {
        Some(FnArg::Typed(t)) => {
            let syn::PatType { attrs, pat, ty, .. } = t;
            quote!(#(#attrs)* #pat: #ty)
        }
        _ => quote!(_: #krate::Context),
    };
    let (output, output_span) = f.output();
    let body = with_output_type(&output, output_span, body);
    // `Runtime::run` is `#[track_caller]`: reports say `main` started at the
    // function's name. Its bound on the output is checked at the return type.
    let run = quote_spanned!(output_span=> run);
    let run = quote_spanned!(ident.span()=> .#run);

    quote! {
        #(#attrs)*
        #vis fn #ident() {
            #runtime #run(move |#ctx_param| async move #body)
        }
    }
}

/// The signal `name` names, as a constant: the compiler looks it up in the
/// runtime's one table of names (`Signal::from_name`), under `cargo check`
/// too, and an unknown name is an error under the string, listing the valid
/// names.
fn signal_tokens(krate: &Path, name: &LitStr) -> TokenStream {
    let krate = respan(krate.to_token_stream(), name.span());
    quote_spanned! {name.span()=>
        {
            const SIGNAL: #krate::Signal = #krate::__private::signal(#name);
            SIGNAL
        }
    }
}
