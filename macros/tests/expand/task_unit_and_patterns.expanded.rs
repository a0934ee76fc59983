#[track_caller]
fn ignore(ctx: &Context, (a, b): (u32, u32), n: u64) -> ::graceful::TaskHandle<()> {
    let mut n: <u64 as ::graceful::bounds::TaskArg>::Arg = n;
    let __graceful_body = move |_: Context| {
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
            {
                n += u64::from(a + b);
                println!("{n}");
            }
        };
        ::graceful::bounds::runs_on_any_thread(__graceful_future)
    };
    ::graceful::__private::spawn_task::<
        _,
        _,
        <() as ::graceful::bounds::Output>::Checked,
    >(
        ctx,
        "ignore",
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
