//! The annotated function: its signature parsed, its body kept as tokens so
//! a half-typed body never stops the expansion (and the IDE keeps working).

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::ParseStream;
use syn::{Attribute, ReturnType, Signature, Type, Visibility};

use crate::errors::Errors;

/// `#[attrs] vis sig { body }`.
pub(crate) struct FnItem {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The body's braces and everything in them, unparsed.
    pub(crate) body: Group,
}

impl FnItem {
    /// Parses `item`; if it is not a function with a body, the error names
    /// what it is instead and says that `attr` belongs on an `async fn`.
    pub(crate) fn parse(item: TokenStream, attr: &str) -> syn::Result<FnItem> {
        let parser = |input: ParseStream<'_>| FnItem::parse_for(input, attr);
        syn::parse::Parser::parse2(parser, item)
    }

    /// [`parse`](Self::parse) for an attribute's `expand`: on failure, what
    /// to emit instead, the item unchanged followed by `errors` and the parse
    /// error.
    pub(crate) fn parse_or_keep(
        item: TokenStream,
        attr: &str,
        errors: &mut Errors,
    ) -> Result<FnItem, TokenStream> {
        FnItem::parse(item.clone(), attr).map_err(|e| {
            errors.push(e);
            let errors = errors.to_compile_errors();
            quote!(#item #errors)
        })
    }

    fn parse_for(input: ParseStream<'_>, attr: &str) -> syn::Result<FnItem> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        if input.fork().parse::<Signature>().is_err() {
            return Err(not_a_fn(input, attr));
        }
        let sig: Signature = input.parse()?;
        let body = match input.parse::<TokenTree>() {
            Ok(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g,
            Ok(other) => {
                return Err(syn::Error::new(
                    other.span(),
                    format!(
                        "`#[{attr}]` needs a function with a body: write `{{ ... }}` after the signature"
                    ),
                ));
            }
            Err(_) => {
                return Err(syn::Error::new_spanned(
                    &sig,
                    format!("`#[{attr}]` needs a function with a body"),
                ));
            }
        };
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function body"));
        }
        Ok(FnItem {
            attrs,
            vis,
            sig,
            body,
        })
    }

    /// The item as written but without `const`: the compiler rejects a
    /// `const async fn` by itself, and one error about it is enough.
    pub(crate) fn without_const(&self) -> FnItem {
        let mut sig = self.sig.clone();
        sig.constness = None;
        FnItem {
            attrs: self.attrs.clone(),
            vis: self.vis.clone(),
            sig,
            body: self.body.clone(),
        }
    }

    /// The declared output type, `()` if none, spanned where it is written
    /// (or at the function's name).
    /// What the task's handle yields, `T` of `TaskHandle<T>`: written as the
    /// type the output says it is (`()`, and `T` of `Result<T, E>` or of a
    /// one-argument alias such as `anyhow::Result<T>`), so that the
    /// signature reads as the user's own; otherwise `fallback`.
    pub(crate) fn handle_value(output: &Type, fallback: TokenStream) -> TokenStream {
        let plain = match output {
            Type::Tuple(t) if t.elems.is_empty() => Some(output.clone()),
            Type::Path(p) if p.qself.is_none() => p.path.segments.last().and_then(|last| {
                let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                    return None;
                };
                let types: Vec<&Type> = args
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect();
                (last.ident == "Result" && matches!(types.len(), 1 | 2)).then(|| types[0].clone())
            }),
            _ => None,
        };
        plain.map_or(fallback, |ty| ty.to_token_stream())
    }

    pub(crate) fn output(&self) -> (Type, Span) {
        match &self.sig.output {
            ReturnType::Type(_, ty) => ((**ty).clone(), span_of(ty)),
            ReturnType::Default => (syn::parse_quote!(()), self.sig.ident.span()),
        }
    }
}

impl ToTokens for FnItem {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

/// The span covering `tokens` (joined where the compiler allows it, else
/// the first token's).
pub(crate) fn span_of(tokens: &impl ToTokens) -> Span {
    let mut iter = tokens.to_token_stream().into_iter();
    let Some(first) = iter.next() else {
        return Span::call_site();
    };
    let start = first.span();
    let end = iter.last().map_or(start, |t| t.span());
    start.join(end).unwrap_or(start)
}

/// The error for an attribute on something other than a function.
fn not_a_fn(input: ParseStream<'_>, attr: &str) -> syn::Error {
    let (word, span) = match input.cursor().token_tree() {
        Some((tt, _)) => (tt.to_string(), tt.span()),
        None => return input.error(format!("`#[{attr}]` must be placed on an `async fn`")),
    };
    let message = match word.as_str() {
        "impl" => format!(
            "`#[{attr}]` must be placed on an `async fn`, not on an `impl` block: put it on each method that should run as a task"
        ),
        "struct" | "enum" | "union" | "trait" | "mod" | "static" | "const" | "type" | "use"
        | "let" | "macro_rules" => {
            format!("`#[{attr}]` must be placed on an `async fn`, not on a `{word}` item")
        }
        _ => format!("`#[{attr}]` must be placed on an `async fn`"),
    };
    syn::Error::new(span, message)
}

/// `tokens` with every span set to `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = group.into();
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// The body, preceded by an unreachable `return` of the declared output type
/// so the `async` block's output is inferred from the signature (for `?` and
/// for errors at the user's return type), as `tracing`'s `#[instrument]` does.
pub(crate) fn with_output_type(output: &Type, span: Span, body: &Group) -> TokenStream {
    let fake_return = quote_spanned! {span=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let __graceful_output: #output = loop {};
            return __graceful_output;
        }
    };
    let mut block = Group::new(Delimiter::Brace, quote!(#fake_return #body));
    block.set_span(body.span());
    block.into_token_stream()
}
