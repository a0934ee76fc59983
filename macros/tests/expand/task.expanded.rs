use graceful::Context;
use std::time::Duration;
/// Prints `word` every second until shutdown.
#[track_caller]
pub fn ticker(ctx: &Context, word: String) -> ::graceful::TaskHandle<()> {
    let word: <String as ::graceful::bounds::TaskArg>::Arg = word;
    let __graceful_body = move |ctx: Context| {
        let __graceful_future = async move {
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
                let __graceful_output: <anyhow::Result<
                    (),
                > as ::graceful::bounds::Output>::Checked = loop {};
                return __graceful_output;
            }
            {
                let mut every = tokio::time::interval(Duration::from_secs(1));
                while ctx.run_until_cancelled(every.tick()).await.is_some() {
                    println!("{word} in a loop");
                }
                Ok(())
            }
        };
        ::graceful::bounds::runs_on_any_thread(__graceful_future)
    };
    ::graceful::__private::spawn_task::<
        _,
        _,
        <anyhow::Result<()> as ::graceful::bounds::Output>::Checked,
    >(
        ctx,
        "ticker",
        {
            static SITE: ::graceful::__private::Site = ::graceful::__private::Site {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
            };
            &SITE
        },
        ::core::option::Option::None,
        __graceful_body,
    )
}
