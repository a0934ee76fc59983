#[graceful::task]
async fn ignore(_: Context, (a, b): (u32, u32), mut n: u64) {
    n += u64::from(a + b);
    println!("{n}");
}
