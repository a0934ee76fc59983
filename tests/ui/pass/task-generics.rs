//! Type and const generics, `impl Trait` parameters and `where` clauses.

use std::fmt::Display;

use graceful::Context;

#[graceful::task]
async fn show<T: Display + Send + 'static>(_ctx: Context, value: T) -> Result<String, String> {
    Ok(value.to_string())
}

#[graceful::task]
async fn greet(_ctx: Context, name: impl Into<String> + Send + 'static) -> Result<String, String> {
    Ok(format!("hello {}", name.into()))
}

#[graceful::task]
async fn sum<const N: usize>(_ctx: Context, values: [u64; N]) -> Result<u64, String> {
    Ok(values.iter().sum())
}

#[graceful::task]
async fn first<I>(_ctx: Context, items: I) -> Result<Option<I::Item>, String>
where
    I: IntoIterator + Send + 'static,
    I::Item: Send,
{
    Ok(items.into_iter().next())
}

#[graceful::main]
async fn main(ctx: Context) {
    assert_eq!(show(&ctx, 7).await.unwrap(), "7");
    assert_eq!(greet(&ctx, "you").await.unwrap(), "hello you");
    assert_eq!(sum(&ctx, [1, 2, 3]).await.unwrap(), 6);
    assert_eq!(first(&ctx, vec![4, 5]).await.unwrap(), Some(4));
}
