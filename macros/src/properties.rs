//! Property test: many generated signatures and option lists go through
//! both expansions, which must never panic and must always yield either
//! items that parse or a `compile_error!`.

use proc_macro2::TokenStream;
use proptest::prelude::*;
use proptest::sample::select;

const ATTRS: &[&str] = &["", "#[doc = \"docs\"]", "#[allow(unused)]", "#[inline]"];
const VIS: &[&str] = &["", "pub", "pub(crate)"];
const QUALIFIERS: &[&str] = &[
    "async",
    "async",
    "async",
    "",
    "const async",
    "async unsafe",
    "async extern \"C\"",
    "const",
    "unsafe",
];
const NAMES: &[&str] = &["main", "tick", "r#loop", "serve"];
const GENERICS: &[&str] = &[
    "",
    "",
    "<T>",
    "<'a>",
    "<T: Send + 'static>",
    "<const N: usize>",
    "<'a, T: 'a>",
];
const RECEIVERS: &[&str] = &[
    "",
    "",
    "",
    "self",
    "mut self",
    "&self",
    "&mut self",
    "self: Arc<Self>",
    "self: &Self",
    "self: Pin<&mut Self>",
];
const PARAMS: &[&str] = &[
    "ctx: Context",
    "ctx: Context",
    "ctx: &Context",
    "ctx: &mut Context",
    "_: Context",
    "mut ctx: graceful::Context",
    "ctx: Context<'a>",
    "x: u32",
    "name: &str",
    "name: &'static str",
    "words: Vec<&'a str>",
    "(a, b): (u8, u8)",
    "f: impl Fn(&str) + Send + 'static",
    "d: impl Display + '_",
    "c: Cow<'_, str>",
    "t: T",
    "arr: [u8; N]",
    "cb: fn(&str) -> usize",
    "job: Box<dyn for<'x> Fn(&'x str) + Send>",
    "ref r: String",
];
const OUTPUTS: &[&str] = &[
    "",
    "",
    "-> ()",
    "-> u32",
    "-> !",
    "-> impl Display",
    "-> anyhow::Result<()>",
    "-> Result<&str, String>",
    "-> Result<Self, E>",
    "-> Result<(), Box<dyn Error + Send + '_>>",
];
const WHERES: &[&str] = &["", "", "where T: Send"];
const BODIES: &[&str] = &[
    "{}",
    "{ ctx.cancelled().await; }",
    "{ Ok(()) }",
    "{ return Ok(()); }",
    "{ loop {} }",
    "{ let x = async { 1 }.await; x }",
    "{ #![allow(unused)] }",
];
/// Bodies that tokenize but do not parse, as while typing.
const BROKEN_BODIES: &[&str] = &["{ ctx. }", "{ let = ; }", "{ fn }", "{ x.await? ?? }"];
const NOT_FNS: &[&str] = &[
    "struct Ticker;",
    "impl Poller { async fn run(self, ctx: Context) {} }",
    "const X: u8 = 1;",
    "async fn run(ctx: Context);",
    "enum E { A }",
    "static S: u8 = 0;",
    "",
    "mod m {}",
    "fn",
    "async fn f(ctx: Context) {} fn g() {}",
];
const KEYS: &[&str] = &[
    "name",
    "crate",
    "timeout",
    "lame_duck",
    "signals",
    "flavor",
    "worker_threads",
    "policy",
    "restart",
    "backoff",
    "intensity",
    "nmae",
    "a::b",
    "timeout",
];
const VALUES: &[&str] = &[
    "\"x\"",
    "\"\"",
    "5",
    "0",
    "18446744073709551616",
    "\"2s\"",
    "\"0s\"",
    "\"1m 30s\"",
    "\"2 fortnights\"",
    "\"99999999999999999999999s\"",
    "[\"SIGINT\", \"term\"]",
    "[\"SIGKILL\"]",
    "[\"SIGINT\", \"int\"]",
    "[SIGINT]",
    "[]",
    "\"current_thread\"",
    "\"multi_thread\"",
    "\"isolated\"",
    "\"on_failure\"",
    "\"always\"",
    "\"100ms..30s\"",
    "\"30s..1s\"",
    "\"..\"",
    "\"5 in 60s\"",
    "\"0 in 0s\"",
    "\"::graceful\"",
    "\"not a path\"",
    "x::y",
    "(1, 2)",
    "-1",
    "'c'",
];

/// One `key = value` (or something wrong in its place).
fn option() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (select(KEYS), select(VALUES)).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => select(KEYS).prop_map(str::to_string),
        1 => select(KEYS).prop_map(|k| format!("{k}(1)")),
        1 => select(VALUES).prop_map(str::to_string),
        1 => Just("= =".to_string()),
    ]
}

fn args() -> impl Strategy<Value = String> {
    (prop::collection::vec(option(), 0..4), any::<bool>()).prop_map(|(opts, trailing)| {
        let mut s = opts.join(", ");
        if trailing && !s.is_empty() {
            s.push(',');
        }
        s
    })
}

#[derive(Debug, Clone)]
struct Item {
    text: String,
    /// The body tokenizes but does not parse.
    broken: bool,
}

fn function() -> impl Strategy<Value = Item> {
    (
        (
            select(ATTRS),
            select(VIS),
            select(QUALIFIERS),
            select(NAMES),
        ),
        (
            select(GENERICS),
            select(RECEIVERS),
            prop::collection::vec(select(PARAMS), 0..4),
        ),
        (select(OUTPUTS), select(WHERES)),
        prop_oneof![
            4 => select(BODIES).prop_map(|b| (b, false)),
            1 => select(BROKEN_BODIES).prop_map(|b| (b, true)),
        ],
    )
        .prop_map(
            |(
                (attr, vis, quals, name),
                (generics, receiver, params),
                (output, wheres),
                (body, broken),
            )| {
                let mut inputs: Vec<&str> = Vec::new();
                if !receiver.is_empty() {
                    inputs.push(receiver);
                }
                inputs.extend(params);
                Item {
                    text: format!(
                        "{attr} {vis} {quals} fn {name}{generics}({}) {output} {wheres} {body}",
                        inputs.join(", ")
                    ),
                    broken,
                }
            },
        )
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        8 => function(),
        1 => select(NOT_FNS).prop_map(|t| Item { text: t.to_string(), broken: false }),
    ]
}

fn check(kind: &str, expand: fn(TokenStream, TokenStream) -> TokenStream, args: &str, item: &Item) {
    let args_tokens: TokenStream = args.parse().expect("arguments tokenize");
    let item_tokens: TokenStream = item.text.parse().expect("item tokenizes");
    let out = std::panic::catch_unwind(|| expand(args_tokens, item_tokens))
        .unwrap_or_else(|_| panic!("#[graceful::{kind}({args})] panicked on:\n{}", item.text));
    let text = out.to_string();
    if text.contains("compile_error") {
        return;
    }
    if item.broken {
        // The body is kept as it is, for the compiler to report; the rest
        // of the expansion is still there.
        assert!(!text.is_empty(), "nothing emitted for {}", item.text);
        return;
    }
    if let Err(e) = syn::parse2::<syn::File>(out) {
        panic!(
            "#[graceful::{kind}({args})] produced neither items nor a compile_error ({e}) for:\n{}\n=> {text}",
            item.text
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn task_expansion_never_panics(args in args(), item in item()) {
        check("task", crate::task_attr::expand, &args, &item);
    }

    #[test]
    fn main_expansion_never_panics(args in args(), item in item()) {
        check("main", crate::main_attr::expand, &args, &item);
    }
}

/// Accepted inputs expand without any error.
#[test]
fn valid_inputs_expand_cleanly() {
    let cases = [
        ("", "async fn f(ctx: Context) {}"),
        (
            "name = \"x\"",
            "pub async fn f(ctx: Context, n: u32) -> anyhow::Result<()> { Ok(()) }",
        ),
        ("", "async fn f(self: Arc<Self>, ctx: Context) {}"),
        ("", "async fn f<T: Send + 'static>(ctx: Context, t: T) {}"),
        ("policy = \"isolated\"", "async fn f(ctx: Context) {}"),
        (
            "restart = \"always\", backoff = \"1ms..2ms\", intensity = \"2 in 1s\"",
            "async fn f(mut self, _: Context, (a, b): (u8, u8), ref r: String) { self.x(a, b, r) }",
        ),
    ];
    for (args, item) in cases {
        let out = crate::task_attr::expand(args.parse().unwrap(), item.parse().unwrap());
        assert!(
            !out.to_string().contains("compile_error"),
            "{item} => {out}"
        );
        syn::parse2::<syn::File>(out).unwrap();
    }
    let out = crate::main_attr::expand(
        "timeout = \"2s\", signals = [\"term\"]".parse().unwrap(),
        "async fn main(ctx: Context) -> Result<(), E> { Ok(()) }"
            .parse()
            .unwrap(),
    );
    assert!(!out.to_string().contains("compile_error"), "{out}");
    syn::parse2::<syn::File>(out).unwrap();
}
