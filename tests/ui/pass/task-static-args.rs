//! Parameters that mention references but are `'static`.

use graceful::Context;

#[graceful::task]
async fn apply(
    _ctx: Context,
    label: &'static str,
    measure: fn(&str) -> usize,
    check: Box<dyn Fn(&str) -> bool + Send>,
) -> Result<usize, String> {
    assert!(check(label));
    Ok(measure(label))
}

#[graceful::main]
async fn main(ctx: Context) {
    let n = apply(&ctx, "four", str::len, Box::new(|s| !s.is_empty())).await;
    assert_eq!(n.unwrap(), 4);
}
