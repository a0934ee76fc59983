impl Poller {
    #[track_caller]
    fn run(self: Arc<Self>, ctx: &Context) -> ::graceful::TaskHandle<()> {
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
                    let __graceful_output: <Result<
                        (),
                        Error,
                    > as ::graceful::bounds::Output>::Checked = loop {};
                    return __graceful_output;
                }
                { self.poll(&ctx).await }
            };
            ::graceful::bounds::runs_on_any_thread(__graceful_future)
        };
        ::graceful::__private::spawn_task::<
            _,
            _,
            <Result<(), Error> as ::graceful::bounds::Output>::Checked,
        >(
            ctx,
            "run",
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
    #[track_caller]
    fn show<T>(ctx: &Context, value: T) -> ::graceful::TaskHandle<Self>
    where
        T: Display + Send + 'static,
    {
        let value: <T as ::graceful::bounds::TaskArg>::Arg = value;
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
                    let __graceful_output: <Result<
                        Self,
                        String,
                    > as ::graceful::bounds::Output>::Checked = loop {};
                    return __graceful_output;
                }
                {
                    ctx.cancelled().await;
                    Err(value.to_string())
                }
            };
            ::graceful::bounds::runs_on_any_thread(__graceful_future)
        };
        ::graceful::__private::spawn_task::<
            _,
            _,
            <Result<Self, String> as ::graceful::bounds::Output>::Checked,
        >(
            ctx,
            "show",
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
}
