//! The attributes' options: `key = value` pairs parsed once with
//! [`syn::meta::parser`], each key set at most once, every problem reported.

use proc_macro2::{Ident, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Expr, ExprLit, Lit, LitStr, Path, Token};

use crate::errors::Errors;

/// An option an attribute accepts.
pub(crate) struct Key {
    pub(crate) name: &'static str,
    /// What its value is, for messages: "a duration string".
    pub(crate) takes: &'static str,
    /// A complete example, for messages: `timeout = "30s"`.
    pub(crate) example: &'static str,
}

impl Key {
    /// The message for a value of the wrong kind.
    pub(crate) fn expected(&self) -> String {
        format!(
            "`{}` takes {}, as in `{}`",
            self.name, self.takes, self.example
        )
    }
}

/// The `crate = "path"` option both attributes share.
pub(crate) const CRATE: Key = Key {
    name: "crate",
    takes: "the path of the `graceful` crate as a string",
    example: "crate = \"::my_reexport::graceful\"",
};

/// Parses `args` as `key = value, ...` and hands each known key, once, with
/// its value to `on`. Unknown keys (with the list of valid ones), duplicated
/// keys, keys without a value and syntax errors go to `errors`.
pub(crate) fn parse(
    args: TokenStream,
    attr: &str,
    keys: &[Key],
    errors: &mut Errors,
    mut on: impl FnMut(&Key, &Ident, Expr, &mut Errors),
) {
    let mut seen: Vec<&'static str> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let Some(ident) = meta.path.get_ident().cloned() else {
            errors.at(&meta.path, unknown(&meta.path, attr, keys));
            return skip_value(&meta);
        };
        let Some(key) = keys.iter().find(|k| ident == k.name) else {
            errors.at(&ident, unknown(&meta.path, attr, keys));
            return skip_value(&meta);
        };
        if !meta.input.peek(Token![=]) {
            errors.at(
                &ident,
                format!("`{}` needs a value: `{}`", key.name, key.example),
            );
            return skip_value(&meta);
        }
        let value: Expr = meta.value()?.parse()?;
        if seen.contains(&key.name) {
            errors.at(&ident, format!("`{}` is set twice: keep one", key.name));
        } else {
            seen.push(key.name);
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

fn unknown(path: &Path, attr: &str, keys: &[Key]) -> String {
    let written = quote::quote!(#path).to_string().replace(' ', "");
    let valid: Vec<String> = keys.iter().map(|k| format!("`{}`", k.name)).collect();
    let mut message = format!(
        "unknown option `{written}` of `#[{attr}]`; the options are {}",
        valid.join(", ")
    );
    let normalized = written.to_lowercase().replace('-', "_");
    if let Some(near) = keys
        .iter()
        .filter(|k| edit_distance(&normalized, k.name) <= 2)
        .min_by_key(|k| edit_distance(&normalized, k.name))
    {
        message = format!("{message}; did you mean `{}`?", near.name);
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

/// The string literal `expr` is, if it is one.
pub(crate) fn lit_str(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s),
        _ => None,
    }
}

/// The `crate = "..."` value as a path, or an error under the literal.
pub(crate) fn crate_path(value: &Expr, errors: &mut Errors) -> Option<Path> {
    let Some(lit) = lit_str(value) else {
        errors.at(value, CRATE.expected());
        return None;
    };
    match lit.parse::<Path>() {
        Ok(path) => Some(path),
        Err(_) => {
            errors.at(
                lit,
                format!(
                    "`{}` is not a path: write the path of the `graceful` crate, as in `{}`",
                    lit.value(),
                    CRATE.example
                ),
            );
            None
        }
    }
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
