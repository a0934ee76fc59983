#[::core::prelude::v1::test]
fn drains_in_order() {
    ::graceful::Runtime::new()
        .test(move |ctx: Context, test: Test| async move {
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
                let __graceful_output: () = loop {};
                return __graceful_output;
            }
            {
                ctx.shutdown();
                let report = test.report().await;
                assert_eq!(report.exit_code(), 0);
            }
        })
}
/// Either parameter may be left out; a `Result` lets the body use `?`.
#[ignore = "slow"]
#[::core::prelude::v1::test]
fn without_context() {
    ::graceful::Runtime::new()
        .test(move |_: ::graceful::Context, test: Test| async move {
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
                let __graceful_output: Result<(), String> = loop {};
                return __graceful_output;
            }
            {
                test.advance(Duration::from_secs(1)).await;
                Ok(())
            }
        })
}
