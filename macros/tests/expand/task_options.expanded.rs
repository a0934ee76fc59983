#[track_caller]
fn fetch(
    ctx: &my_app::graceful::Context,
    url: String,
) -> ::my_app::graceful::TaskHandle<()> {
    let url: <String as ::my_app::graceful::bounds::TaskArg>::Arg = url;
    let __graceful_body = move |ctx: my_app::graceful::Context| {
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
                let __graceful_output: <() as ::my_app::graceful::bounds::Output>::Checked = loop {};
                return __graceful_output;
            }
            {
                let _ = (ctx, url);
            }
        };
        ::my_app::graceful::bounds::runs_on_any_thread(__graceful_future)
    };
    ::my_app::graceful::__private::spawn_task::<
        _,
        _,
        <() as ::my_app::graceful::bounds::Output>::Checked,
    >(
        ctx,
        "price-fetcher",
        {
            static SITE: ::my_app::graceful::__private::Site = ::my_app::graceful::__private::Site {
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
