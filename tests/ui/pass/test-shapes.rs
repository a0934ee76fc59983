//! The shapes `#[graceful::test]` accepts. trybuild builds binaries, where
//! `#[test]` functions are left out: this checks the expansion, and the
//! facade's tests (`tests/lifecycle.rs`, `tests/test_attr.rs`) run them.

#[graceful::test]
async fn both(ctx: graceful::Context, test: graceful::Test) {
    ctx.shutdown();
    assert_eq!(test.report().await.exit_code(), 0);
}

#[graceful::test]
async fn in_any_order(test: graceful::Test, ctx: graceful::Context) {
    let _ = (test, ctx);
}

#[graceful::test]
async fn neither() {}

#[graceful::test(timeout = "5s", lame_duck = "1s")]
async fn with_a_result(ctx: graceful::Context) -> Result<(), std::io::Error> {
    ctx.shutdown();
    Ok(())
}

#[graceful::test(start_paused = false, flavor = "multi_thread", worker_threads = 2)]
#[ignore = "shows the options"]
async fn on_real_threads(_ctx: graceful::Context) {}

#[graceful::test(start_paused = true, flavor = "current_thread", crate = "graceful")]
async fn spelled_out(#[allow(unused_variables)] test: graceful::Test) {}

fn main() {}
