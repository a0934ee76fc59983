//! `#[graceful::main]`: `async fn main(ctx: Context) -> R` becomes a plain
//! `fn main()` that configures a `graceful::Runtime` and runs the body as the
//! root task.

use std::time::Duration;

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{Expr, FnArg, Ident, LitStr, Path, Type};

use crate::errors::Errors;
use crate::item::{FnItem, with_output_type};
use crate::options::{self, CRATE, Key};
use crate::types::{Role, check_owned, is_context, tokens};

const ATTR: &str = "graceful::main";

const TIMEOUT: Key = Key {
    name: "timeout",
    takes: "the shutdown deadline as a duration string",
    example: "timeout = \"30s\"",
};
const LAME_DUCK: Key = Key {
    name: "lame_duck",
    takes: "a duration string",
    example: "lame_duck = \"5s\"",
};
const SIGNALS: Key = Key {
    name: "signals",
    takes: "a list of signal names",
    example: "signals = [\"SIGINT\", \"SIGTERM\"]",
};
const FLAVOR: Key = Key {
    name: "flavor",
    takes: "`\"multi_thread\"` or `\"current_thread\"`",
    example: "flavor = \"current_thread\"",
};
const WORKER_THREADS: Key = Key {
    name: "worker_threads",
    takes: "a number of threads",
    example: "worker_threads = 4",
};

/// The signals an option may name, and the `graceful::Signal` variant of each.
const SIGNAL_NAMES: &[(&str, &str)] = &[
    ("SIGINT", "Interrupt"),
    ("SIGTERM", "Terminate"),
    ("SIGQUIT", "Quit"),
    ("SIGHUP", "Hangup"),
    ("SIGUSR1", "User1"),
    ("SIGUSR2", "User2"),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MultiThread,
    CurrentThread,
}

/// The options, each `None` when not given (or given wrong).
#[derive(Default)]
struct Config {
    timeout: Option<Duration>,
    lame_duck: Option<Duration>,
    /// The `graceful::Signal` variants, in the order written.
    signals: Option<Vec<&'static str>>,
    flavor: Option<Flavor>,
    worker_threads: Option<(usize, Ident)>,
    krate: Option<Path>,
}

impl Config {
    fn parse(args: TokenStream, errors: &mut Errors) -> Config {
        let mut config = Config::default();
        let keys = [TIMEOUT, LAME_DUCK, SIGNALS, FLAVOR, WORKER_THREADS, CRATE];
        options::parse(
            args,
            ATTR,
            &keys,
            errors,
            |key, ident, value, errors| match key.name {
                "timeout" => {
                    config.timeout = duration(&value, key, errors);
                    if config.timeout == Some(Duration::ZERO) {
                        errors.at(
                            &value,
                            "a zero deadline would end every shutdown at once with code 124: write a duration such as `\"30s\"`",
                        );
                        config.timeout = None;
                    }
                }
                "lame_duck" => config.lame_duck = duration(&value, key, errors),
                "signals" => config.signals = signals(&value, errors),
                "flavor" => {
                    config.flavor = match options::lit_str(&value).map(LitStr::value).as_deref() {
                        Some("multi_thread") => Some(Flavor::MultiThread),
                        Some("current_thread") => Some(Flavor::CurrentThread),
                        Some(other) => {
                            errors.at(
                                &value,
                                format!("unknown flavor `{other}`: write `flavor = \"multi_thread\"` or `flavor = \"current_thread\"`"),
                            );
                            None
                        }
                        None => {
                            errors.at(&value, key.expected());
                            None
                        }
                    }
                }
                "worker_threads" => {
                    config.worker_threads = match &value {
                        Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Int(n),
                            ..
                        }) => match n.base10_parse::<usize>() {
                            Ok(0) => {
                                errors.at(n, "`worker_threads` must be at least 1");
                                None
                            }
                            Ok(n) => Some((n, ident.clone())),
                            Err(e) => {
                                errors.push(e);
                                None
                            }
                        },
                        _ => {
                            errors.at(&value, key.expected());
                            None
                        }
                    }
                }
                _ => config.krate = options::crate_path(&value, errors),
            },
        );
        if let (Some((_, ident)), Some(Flavor::CurrentThread)) =
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

/// A duration string checked now, so a typo never reaches run time.
fn duration(value: &Expr, key: &Key, errors: &mut Errors) -> Option<Duration> {
    let Some(lit) = options::lit_str(value) else {
        errors.at(value, key.expected());
        return None;
    };
    match humantime::parse_duration(lit.value().trim()) {
        Ok(d) => Some(d),
        Err(e) => {
            use humantime::DurationError as E;
            let why = match e {
                E::UnknownUnit { unit, .. } if unit.is_empty() => "the unit is missing".into(),
                E::UnknownUnit { unit, .. } => format!("unknown unit `{unit}`"),
                E::NumberOverflow => "the number is too large".into(),
                E::Empty => "it is empty".into(),
                E::InvalidCharacter(at) | E::NumberExpected(at) => {
                    format!("unexpected text at offset {at}")
                }
                #[allow(unreachable_patterns)]
                _ => e.to_string(),
            };
            errors.at(
                lit,
                format!(
                    "invalid duration `{}`: {why}; write a number and a unit, such as `\"30s\"`, `\"1500ms\"` or `\"2min\"`",
                    lit.value()
                ),
            );
            None
        }
    }
}

/// `["SIGINT", "term"]`, or a single `"SIGTERM"`, as `Signal` variants.
fn signals(value: &Expr, errors: &mut Errors) -> Option<Vec<&'static str>> {
    let elems: Vec<&Expr> = match value {
        Expr::Array(a) => a.elems.iter().collect(),
        Expr::Lit(_) => vec![value],
        _ => {
            errors.at(value, SIGNALS.expected());
            return None;
        }
    };
    let mut variants = Vec::new();
    let mut ok = true;
    for elem in elems {
        let Some(lit) = options::lit_str(elem) else {
            let hint = match elem {
                Expr::Path(p) => {
                    format!("write signal names as strings: `\"{}\"`", tokens(&p.path))
                }
                _ => SIGNALS.expected(),
            };
            errors.at(elem, hint);
            ok = false;
            continue;
        };
        match signal_variant(&lit.value()) {
            Ok(variant) if variants.contains(&variant) => {
                errors.at(lit, format!("`{}` is listed twice: keep one", lit.value()));
                ok = false;
            }
            Ok(variant) => variants.push(variant),
            Err(message) => {
                errors.at(lit, message);
                ok = false;
            }
        }
    }
    ok.then_some(variants)
}

/// `"SIGTERM"`, `"TERM"` or `"term"` to `"Terminate"`.
fn signal_variant(name: &str) -> Result<&'static str, String> {
    let upper = name.trim().to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    let valid: Vec<String> = SIGNAL_NAMES.iter().map(|(n, _)| format!("`{n}`")).collect();
    match SIGNAL_NAMES.iter().find(|(n, _)| *n == full) {
        Some((_, variant)) => Ok(variant),
        None if full == "SIGKILL" || full == "SIGSTOP" => Err(format!(
            "`{full}` cannot be caught, so it cannot start a graceful shutdown: use one of {}",
            valid.join(", ")
        )),
        None => Err(format!(
            "unknown signal `{name}`: use one of {}",
            valid.join(", ")
        )),
    }
}

/// Expands `#[graceful::main(args)] item`. On a misuse the user's function is
/// kept, nested in an empty `fn main()` so that no "`main` function not found"
/// or "`main` cannot be `async`" follows; on a bad option only, it is
/// expanded without that option.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let config = Config::parse(args, &mut errors);
    let f = match FnItem::parse_or_keep(item, ATTR, &mut errors) {
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
    if let Some(c) = &sig.constness {
        errors.at(c, "`main` cannot be a `const fn`: remove `const`");
    }
    if sig.asyncness.is_none() {
        errors.at(
            sig.fn_token,
            format!(
                "`#[graceful::main]` needs an `async fn`: write `async fn {}`",
                sig.ident
            ),
        );
    }
    if let Some(u) = &sig.unsafety {
        errors.at(u, "`main` cannot be `unsafe`: remove `unsafe`");
    }
    if let Some(abi) = &sig.abi {
        errors.at(
            abi,
            format!("`main` cannot have an ABI: remove `{}`", tokens(abi)),
        );
    }
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
    if let Some(v) = &sig.variadic {
        errors.at(v, "`main` cannot be variadic: remove `...`");
    }
    for (i, arg) in sig.inputs.iter().enumerate() {
        match arg {
            FnArg::Receiver(r) => errors.at(r, "`main` cannot take `self`: remove it"),
            FnArg::Typed(t) if i == 0 && is_context(&t.ty) => {}
            FnArg::Typed(t) => match &*t.ty {
                Type::Reference(r) if is_context(&r.elem) => errors.at(
                    &t.ty,
                    format!(
                        "`main` takes its `Context` by value: write `{}: {}`",
                        tokens(&t.pat),
                        tokens(&r.elem)
                    ),
                ),
                _ => errors.at(
                    t,
                    format!(
                        "`main` takes no parameters or one `ctx: Context`: remove `{}` (read the command line with `std::env::args()`)",
                        tokens(t)
                    ),
                ),
            },
        }
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output {
        match &**ty {
            Type::Never(never) => errors.at(
                never,
                "`main` cannot return `!`: remove `-> !` (the process exits when its tasks have finished)",
            ),
            ty => check_owned(ty, Role::Output, errors),
        }
    }
}

fn generate(f: &FnItem, config: &Config) -> TokenStream {
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
    if let Some(signals) = &config.signals {
        let variants = signals.iter().map(|v| Ident::new(v, Span::call_site()));
        runtime = quote!(#runtime.signals([#(#krate::Signal::#variants),*]));
    }
    if let Some(Flavor::CurrentThread) = config.flavor {
        runtime = quote!(#runtime.flavor(#krate::Flavor::CurrentThread));
    }
    if let Some(Flavor::MultiThread) = config.flavor {
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

/// `Duration::new(secs, nanos)`, a constant expression.
fn duration_tokens(d: Duration) -> TokenStream {
    let secs = Literal::u64_unsuffixed(d.as_secs());
    let nanos = Literal::u32_unsuffixed(d.subsec_nanos());
    quote!(::core::time::Duration::new(#secs, #nanos))
}

#[cfg(test)]
mod tests {
    use super::signal_variant;

    #[test]
    fn signal_names_are_checked() {
        assert_eq!(signal_variant("SIGTERM"), Ok("Terminate"));
        assert_eq!(signal_variant("term"), Ok("Terminate"));
        assert_eq!(signal_variant("SigInt"), Ok("Interrupt"));
        assert_eq!(signal_variant("usr2"), Ok("User2"));
        assert!(
            signal_variant("SIGKILL")
                .unwrap_err()
                .contains("cannot be caught")
        );
        assert!(
            signal_variant("SIGFOO")
                .unwrap_err()
                .starts_with("unknown signal")
        );
    }
}
