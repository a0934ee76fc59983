#[::core::prelude::v1::test]
fn on_real_threads() {
    ::my_app::graceful::Runtime::new()
        .timeout(::core::time::Duration::new(5, 0))
        .lame_duck(::core::time::Duration::new(0, 500000000))
        .start_paused(false)
        .flavor(::my_app::graceful::Flavor::MultiThread)
        .worker_threads(2)
        .test(move |ctx: my_app::graceful::Context, _: ::my_app::graceful::Test| async move {
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
            }
        })
}
