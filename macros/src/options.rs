//! The attributes' options: `key = value` pairs parsed once with
//! [`syn::meta::parser`] into each attribute's enum of keys, each key set at
//! most once, every problem reported.

use proc_macro2::{Ident, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Expr, Path, Token};

use crate::errors::Errors;

/// The keys one attribute accepts: an enum, which its parser `match`es
/// exhaustively.
pub(crate) trait OptionKey: Copy + PartialEq + 'static {
    /// Every key, in the order the unknown-key message lists them.
    const ALL: &'static [Self];

    /// How the key is written and what it takes.
    fn spec(self) -> &'static Spec;
}

/// How an option is written, for parsing and messages.
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    /// What its value is, for messages: "a duration string".
    pub(crate) takes: &'static str,
    /// A complete example, for messages: `timeout = "30s"`.
    pub(crate) example: &'static str,
}

impl Spec {
    /// The message for a value of the wrong kind.
    pub(crate) fn expected(&self) -> String {
        format!(
            "`{}` takes {}, as in `{}`",
            self.name, self.takes, self.example
        )
    }
}

/// The `crate = "path"` option both attributes share.
pub(crate) const CRATE: Spec = Spec {
    name: "crate",
    takes: "the path of the `graceful` crate as a string",
    example: "crate = \"::my_reexport::graceful\"",
};

/// Parses `args` as `key = value, ...` and hands each known key, once, with
/// the key as written and its value to `on`. Unknown keys (with the list of
/// valid ones), duplicated keys, keys without a value and syntax errors go
/// to `errors`.
pub(crate) fn parse<K: OptionKey>(
    args: TokenStream,
    attr: &str,
    errors: &mut Errors,
    mut on: impl FnMut(K, &Ident, Expr, &mut Errors),
) {
    let mut seen: Vec<K> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let Some(ident) = meta.path.get_ident().cloned() else {
            errors.at(&meta.path, unknown::<K>(&meta.path, attr));
            return skip_value(&meta);
        };
        let Some(&key) = K::ALL.iter().find(|k| ident == k.spec().name) else {
            errors.at(&ident, unknown::<K>(&meta.path, attr));
            return skip_value(&meta);
        };
        let spec = key.spec();
        if !meta.input.peek(Token![=]) {
            errors.at(
                &ident,
                format!("`{}` needs a value: `{}`", spec.name, spec.example),
            );
            return skip_value(&meta);
        }
        let value: Expr = meta.value()?.parse()?;
        if seen.contains(&key) {
            errors.at(&ident, format!("`{}` is set twice: keep one", spec.name));
        } else {
            seen.push(key);
            on(key, &ident, value, errors);
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
}

/// Consumes what follows an option that is rejected, so parsing goes on.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

fn unknown<K: OptionKey>(path: &Path, attr: &str) -> String {
    let written = quote::quote!(#path).to_string().replace(' ', "");
    let names = K::ALL.iter().map(|k| k.spec().name);
    let valid: Vec<String> = names.clone().map(|name| format!("`{name}`")).collect();
    let mut message = format!(
        "unknown option `{written}` of `#[{attr}]`; the options are {}",
        valid.join(", ")
    );
    let normalized = written.to_lowercase().replace('-', "_");
    if let Some(near) = names
        .filter(|name| edit_distance(&normalized, name) <= 2)
        .min_by_key(|name| edit_distance(&normalized, name))
    {
        message = format!("{message}; did you mean `{near}`?");
    }
    message
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("timeout", "timeout"), 0);
        assert_eq!(edit_distance("timout", "timeout"), 1);
        assert_eq!(edit_distance("lameduck", "lame_duck"), 1);
        assert_eq!(edit_distance("", "name"), 4);
        assert_eq!(edit_distance("flavour", "flavor"), 1);
    }
}
