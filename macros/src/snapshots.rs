//! Expansion snapshots: every fixture in `tests/expand/*.rs` is expanded,
//! pretty-printed and compared with its committed `*.expanded.rs`.
//! `GRACEFUL_BLESS=1 cargo test -p graceful-macros` rewrites them.

use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::{Attribute, ImplItem, Item, Meta};

/// The attributes expanded here.
const KINDS: [&str; 3] = ["main", "task", "test"];

/// Takes the `#[graceful::main]`, `#[graceful::task]` or `#[graceful::test]`
/// attribute off `attrs`: which one, and its arguments.
fn take_attr(attrs: &mut Vec<Attribute>) -> Option<(&'static str, TokenStream)> {
    let kind_of = |a: &Attribute| {
        let path = a.path();
        let graceful = path.segments.len() == 2 && path.segments[0].ident == "graceful";
        KINDS
            .into_iter()
            .find(|kind| graceful && path.segments[1].ident == kind)
    };
    let (at, kind) = attrs
        .iter()
        .enumerate()
        .find_map(|(at, a)| Some((at, kind_of(a)?)))?;
    let attr = attrs.remove(at);
    let args = match attr.meta {
        Meta::List(list) => list.tokens,
        _ => TokenStream::new(),
    };
    Some((kind, args))
}

fn expand(kind: &str, args: TokenStream, item: TokenStream) -> TokenStream {
    match kind {
        "main" => crate::main_attr::expand(args, item),
        "test" => crate::test_attr::expand(args, item),
        _ => crate::task_attr::expand(args, item),
    }
}

/// Expands the attributes in `source` as the compiler would, returning the
/// pretty-printed result.
fn expand_source(source: &str) -> String {
    let file: syn::File = syn::parse_str(source).expect("fixture parses");
    let mut out = TokenStream::new();
    for mut item in file.items {
        match &mut item {
            Item::Impl(imp) => {
                let mut items = Vec::new();
                for mut member in std::mem::take(&mut imp.items) {
                    let attrs = match &mut member {
                        ImplItem::Fn(f) => Some(&mut f.attrs),
                        _ => None,
                    };
                    match attrs.and_then(take_attr) {
                        Some((kind, args)) => {
                            let expanded = expand(kind, args, member.to_token_stream());
                            let parse_all = |input: syn::parse::ParseStream<'_>| {
                                let mut all = Vec::new();
                                while !input.is_empty() {
                                    all.push(input.parse::<ImplItem>()?);
                                }
                                Ok(all)
                            };
                            items.extend(parse_all.parse2(expanded).expect("expansion parses"));
                        }
                        None => items.push(member),
                    }
                }
                imp.items = items;
                item.to_tokens(&mut out);
            }
            Item::Fn(f) => match take_attr(&mut f.attrs) {
                Some((kind, args)) => out.extend(expand(kind, args, item.to_token_stream())),
                None => item.to_tokens(&mut out),
            },
            Item::Struct(s) => match take_attr(&mut s.attrs) {
                Some((kind, args)) => out.extend(expand(kind, args, item.to_token_stream())),
                None => item.to_tokens(&mut out),
            },
            _ => item.to_tokens(&mut out),
        }
    }
    // prettyplease prints syn 2's tree: the expansion is read again by it.
    let expanded: syn2::File =
        syn2::parse_str(&out.to_string()).expect("expansion parses as a file");
    prettyplease::unparse(&expanded)
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/expand exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "rs")
                && !p.to_string_lossy().ends_with(".expanded.rs")
        })
        .collect();
    all.sort();
    all
}

#[test]
fn expansions_match_their_snapshots() {
    let bless = std::env::var_os("GRACEFUL_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    let fixtures = fixtures();
    assert!(fixtures.len() >= 10, "fixtures are missing");
    for fixture in fixtures {
        let source = std::fs::read_to_string(&fixture).expect("readable fixture");
        let actual = expand_source(&source);
        let snapshot = fixture.with_extension("expanded.rs");
        match std::fs::read_to_string(&snapshot) {
            Ok(expected) if expected == actual => {}
            Ok(_) | Err(_) if bless => {
                std::fs::write(&snapshot, &actual).expect("writable snapshot");
            }
            Ok(expected) => failures.push(format!(
                "{} differs from its expansion; rerun with GRACEFUL_BLESS=1 and review the diff\n--- expected\n{expected}\n--- actual\n{actual}",
                snapshot.display()
            )),
            Err(_) => failures.push(format!(
                "{} is missing; rerun with GRACEFUL_BLESS=1 and review it",
                snapshot.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
