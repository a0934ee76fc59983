//! `#[graceful::task(restart = "..")]`: the body runs again at each restart,
//! so each run takes its own clone of the arguments (and of `self`), and
//! each argument's type is checked to be `Clone` at the user's token.

use std::time::Duration;

use proc_macro2::{Delimiter, Group, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Pat, PatType, Path, Receiver};

use crate::item::{respan, span_of};
use crate::values::duration_tokens;

/// The restart options as given; `None` for a default.
pub(crate) struct RestartOption {
    /// `restart = "always"`: also after the task returned `Ok`.
    pub(crate) on_any_return: bool,
    pub(crate) backoff: Option<(Duration, Duration)>,
    pub(crate) intensity: Option<(u32, Duration)>,
}

impl RestartOption {
    /// `Restart::new()` with each option given: a constant expression.
    pub(crate) fn to_tokens(&self, krate: &Path) -> TokenStream {
        let mut restart = quote!(#krate::Restart::new());
        if let Some((min, max)) = self.backoff {
            let (min, max) = (duration_tokens(min), duration_tokens(max));
            restart.extend(quote!(.backoff(#min, #max)));
        }
        if let Some((count, window)) = self.intensity {
            let count = Literal::u32_unsuffixed(count);
            let window = duration_tokens(window);
            restart.extend(quote!(.intensity(#count, #window)));
        }
        if self.on_any_return {
            restart.extend(quote!(.on_any_return()));
        }
        restart
    }
}

/// What changes in a task's expansion when it is restarted.
pub(crate) struct Rerun {
    /// The receiver of the generated function, without `mut`.
    pub(crate) receiver: Option<TokenStream>,
    /// The parameters after the context, each a name the run can clone from.
    pub(crate) params: Vec<TokenStream>,
    /// One statement per argument checking, at its type, that it is `Clone`.
    pub(crate) checks: TokenStream,
    /// The statements that open each run: the run's own arguments.
    pub(crate) takes: TokenStream,
    /// The body, with `self` read from the run's own copy.
    pub(crate) body: Group,
}

/// Splits the arguments of a restarted task: kept by the closure, cloned at
/// each run. The check and the clone are both spanned at the type, where the
/// compiler reports a missing `Clone` once, with the check's message (the
/// clone's error is implied by it at the same span).
pub(crate) fn rerun(
    krate: &Path,
    receiver: Option<&Receiver>,
    rest: &[&PatType],
    body: &Group,
) -> Rerun {
    let mut rerun = Rerun {
        receiver: None,
        params: Vec::new(),
        checks: TokenStream::new(),
        takes: TokenStream::new(),
        body: body.clone(),
    };
    if let Some(r) = receiver {
        let self_token = r.self_token;
        let attrs = &r.attrs;
        let (ty, at) = match &r.kind {
            syn::ReceiverKind::Typed(colon, ty) => {
                rerun.receiver = Some(quote!(#(#attrs)* #self_token #colon #ty));
                (ty.to_token_stream(), span_of(ty))
            }
            _ => {
                rerun.receiver = Some(quote!(#(#attrs)* #self_token));
                (quote_spanned!(self_token.span=> Self), self_token.span)
            }
        };
        let copy = Ident::new("__graceful_self", self_token.span);
        let mutability = r.mutability;
        rerun.checks.extend(check(krate, &ty, at));
        let clone = clone_at(&ty, &Ident::new("self", self_token.span));
        rerun.takes.extend(quote!(let #mutability #copy = #clone;));
        let renamed = rename_self(body.stream(), &copy, false);
        rerun.body = Group::new(Delimiter::Brace, renamed);
        rerun.body.set_span(body.span());
    }
    for (i, param) in rest.iter().enumerate() {
        let PatType { attrs, pat, ty, .. } = param;
        let at = span_of(ty);
        let (name, binding) = match &**pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                let (mutability, ident) = (&p.mutability, &p.ident);
                (ident.clone(), quote!(#mutability #ident))
            }
            pat => (
                Ident::new(&format!("arg{i}"), Span::mixed_site()),
                quote!(#pat),
            ),
        };
        rerun.params.push(quote!(#(#attrs)* #name: #ty));
        // `impl Trait` cannot be named in a turbofish: the clone alone checks it.
        if !mentions_impl(ty.to_token_stream()) {
            rerun.checks.extend(check(krate, ty, at));
        }
        let clone = clone_at(ty, &name);
        rerun.takes.extend(quote!(let #binding = #clone;));
    }
    rerun
}

/// `restart_arg::<T>()`, spanned at `T`: a missing `Clone` is reported there,
/// with the runtime's message.
fn check(krate: &Path, ty: &impl ToTokens, at: Span) -> TokenStream {
    let krate = respan(krate.to_token_stream(), at);
    quote_spanned!(at=> #krate::bounds::restart_arg::<#ty>();)
}

/// `Clone::clone(&source)`, located where `ty` is written: the argument
/// `&source` from `ty`'s first token to its last, so a missing `Clone` is
/// reported at the same span as by the check, which implies it, and once.
fn clone_at(ty: &impl ToTokens, source: &Ident) -> TokenStream {
    let mut tokens = ty.to_token_stream().into_iter().map(|tt| tt.span());
    let first = tokens.next().unwrap_or_else(Span::call_site);
    let last = tokens.last().unwrap_or(first);
    let source = Ident::new(&source.to_string(), source.span().located_at(last));
    quote_spanned!(first=> ::core::clone::Clone::clone(&#source))
}

/// Whether a type has an `impl Trait` in it.
pub(crate) fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == "impl",
        TokenTree::Group(g) => mentions_impl(g.stream()),
        _ => false,
    })
}

/// `body` with each `self` that is the receiver renamed `to`, also where a
/// macro's format string captures it (`"{self}"`); not `self::` paths, nor
/// what `use` declarations and nested items (`fn name`, `impl`, `trait`,
/// `mod`, `macro_rules!`) say, where `self` is not the receiver. Tokens, not
/// syntax, so a half-typed body keeps working.
fn rename_self(body: TokenStream, to: &Ident, in_macro: bool) -> TokenStream {
    let mut out = TokenStream::new();
    let mut tokens = body.into_iter().peekable();
    // Inside a nested item, up to and including its braces; inside a `use`,
    // up to its `;`.
    let mut skip: Option<char> = None;
    let mut after_bang = false;
    while let Some(mut tt) = tokens.next() {
        match (&tt, skip) {
            (TokenTree::Group(g), Some('{')) if g.delimiter() == Delimiter::Brace => skip = None,
            (TokenTree::Punct(p), Some(';')) if p.as_char() == ';' => skip = None,
            (_, Some(_)) => {}
            (TokenTree::Ident(i), None) if i == "self" => {
                let path = matches!(tokens.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if !path {
                    tt = Ident::new(&to.to_string(), i.span()).into();
                }
            }
            (TokenTree::Ident(i), None) if i == "use" => skip = Some(';'),
            (TokenTree::Ident(i), None)
                if i == "impl" || i == "trait" || i == "mod" || i == "macro_rules" =>
            {
                skip = Some('{');
            }
            (TokenTree::Ident(i), None) if i == "fn" => {
                if matches!(tokens.peek(), Some(TokenTree::Ident(_))) {
                    skip = Some('{');
                }
            }
            (TokenTree::Group(g), None) => {
                let stream = rename_self(g.stream(), to, after_bang);
                let mut group = Group::new(g.delimiter(), stream);
                group.set_span(g.span());
                tt = group.into();
            }
            (TokenTree::Literal(lit), None) if in_macro => {
                if let Some(renamed) = rename_in_format(lit, to) {
                    tt = renamed.into();
                }
            }
            _ => {}
        }
        after_bang = matches!(&tt, TokenTree::Punct(p) if p.as_char() == '!');
        out.extend([tt]);
    }
    out
}

/// A string literal with its `{self}` and `{self:..}` captures renamed `to`,
/// if it has any (`{{self}}` is text).
fn rename_in_format(lit: &Literal, to: &Ident) -> Option<Literal> {
    let repr = lit.to_string();
    if !(repr.starts_with('"') || repr.starts_with("r\"") || repr.starts_with("r#")) {
        return None;
    }
    let (mut out, mut rest, mut renamed) = (String::new(), repr.as_str(), false);
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("{{") {
            out.push_str("{{");
            rest = after;
        } else if let Some(after) = rest
            .strip_prefix("{self")
            .filter(|after| after.starts_with(['}', ':']))
        {
            out.push_str(&format!("{{{to}"));
            (rest, renamed) = (after, true);
        } else {
            out.push('{');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    let mut literal: Literal = out.parse().ok().filter(|_| renamed)?;
    literal.set_span(lit.span());
    Some(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renamed(body: TokenStream) -> String {
        let to = Ident::new("this", Span::call_site());
        rename_self(body, &to, false).to_string()
    }

    #[test]
    fn self_is_renamed_where_it_is_the_receiver() {
        // `RECV` is where the receiver is read.
        let body = r#"
            RECV.poll(&ctx).await;
            let f = || RECV.label.clone();
            println!("{}", RECV.label);
            tracing::info!("{RECV} {{self}} {RECV:?} {selfish}", selfish = 1);
            let text = "{self}";
            self::helper(Self::NAME);
        "#;
        let tokens = |recv: &str| body.replace("RECV", recv).parse::<TokenStream>().unwrap();
        assert_eq!(renamed(tokens("self")), tokens("this").to_string());
    }

    #[test]
    fn nested_items_keep_their_own_self() {
        let body = quote! {
            use std::io::{self, Write};
            struct Local;
            impl Local { fn get(&self) -> u8 { self.0 } }
            fn helper(x: &Local) -> u8 { x.get() }
            let call: fn(u8) -> u8 = |x| x;
            self.run()
        };
        let out = renamed(body);
        assert!(
            out.starts_with("use std :: io :: { self , Write } ;"),
            "{out}"
        );
        assert!(out.contains("fn get (& self) -> u8 { self . 0 }"), "{out}");
        assert!(out.ends_with("this . run ()"), "{out}");
    }
}
