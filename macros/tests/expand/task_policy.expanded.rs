/// An isolated task: its failure is reported, the process goes on.
#[track_caller]
fn session(ctx: &Context, peer: String) -> ::graceful::TaskHandle<()> {
    let peer: <String as ::graceful::bounds::TaskArg>::Arg = peer;
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
            { serve(&ctx, peer).await }
        };
        ::graceful::bounds::runs_on_any_thread(__graceful_future)
    };
    ::graceful::__private::spawn_task::<
        _,
        _,
        <anyhow::Result<()> as ::graceful::bounds::Output>::Checked,
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
        __graceful_body,
    )
}
/// Critical even in a scope whose default is isolated.
#[track_caller]
fn write_ledger(ctx: &Context) -> ::graceful::TaskHandle<()> {
    let __graceful_body = move |_ctx: Context| {
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
                let __graceful_output: <() as ::graceful::bounds::Output>::Checked = loop {};
                return __graceful_output;
            }
            {}
        };
        ::graceful::bounds::runs_on_any_thread(__graceful_future)
    };
    ::graceful::__private::spawn_task::<
        _,
        _,
        <() as ::graceful::bounds::Output>::Checked,
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
        __graceful_body,
    )
}
