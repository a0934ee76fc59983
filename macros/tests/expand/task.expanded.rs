use graceful::Context;
use std::time::Duration;
/// Prints `word` every second until shutdown.
#[track_caller]
pub fn ticker(ctx: &Context, word: String) -> ::graceful::TaskHandle<()> {
    let word: <String as ::graceful::__private::TaskArg>::Arg = word;
    ::graceful::__private::spawn_task::<
        _,
        _,
        <anyhow::Result<()> as ::graceful::__private::Output>::Checked,
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
        move |ctx: Context| {
            async move {
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
                    > as ::graceful::__private::Output>::Checked = loop {};
                    return __graceful_output;
                }
                {
                    let mut every = tokio::time::interval(Duration::from_secs(1));
                    while ctx.run_until_cancelled(every.tick()).await.is_some() {
                        println!("{word} in a loop");
                    }
                    Ok(())
                }
            }
        },
    )
}
