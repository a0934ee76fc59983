/// An isolated task: its failure is reported, the process goes on.
#[track_caller]
fn session(ctx: &Context, peer: String) -> ::graceful::TaskHandle<()> {
    let peer: <String as ::graceful::__private::TaskArg>::Arg = peer;
    ::graceful::__private::spawn_task::<
        _,
        _,
        <anyhow::Result<()> as ::graceful::__private::Output>::Checked,
    >(
        ctx,
        "session",
        {
            static SITE: ::graceful::__private::Site = ::graceful::__private::Site {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
            };
            &SITE
        },
        ::core::option::Option::Some(::graceful::Policy::Isolated),
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
                { serve(&ctx, peer).await }
            }
        },
    )
}
/// Critical even in a scope whose default is isolated.
#[track_caller]
fn write_ledger(ctx: &Context) -> ::graceful::TaskHandle<()> {
    ::graceful::__private::spawn_task::<
        _,
        _,
        <() as ::graceful::__private::Output>::Checked,
    >(
        ctx,
        "ledger",
        {
            static SITE: ::graceful::__private::Site = ::graceful::__private::Site {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
            };
            &SITE
        },
        ::core::option::Option::Some(::graceful::Policy::Critical),
        move |_ctx: Context| {
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
                    let __graceful_output: <() as ::graceful::__private::Output>::Checked = loop {};
                    return __graceful_output;
                }
                {}
            }
        },
    )
}
