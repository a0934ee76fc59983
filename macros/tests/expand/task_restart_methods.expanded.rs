impl Poller {
    /// `self: Arc<Self>` is cloned at each run; nested items keep their `self`.
    #[track_caller]
    fn run(self: Arc<Self>, ctx: &Context) -> ::graceful::TaskHandle<()> {
        ::graceful::bounds::restart_arg::<Arc<Self>>();
        let __graceful_body = move |ctx: Context| {
            let __graceful_self = ::core::clone::Clone::clone(&self);
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
                {
                    struct Tick;
                    impl Tick {
                        fn at(&self) -> u8 {
                            let _ = self;
                            0
                        }
                    }
                    __graceful_self.poll(&ctx, Tick.at()).await
                }
            };
            ::graceful::bounds::runs_on_any_thread(__graceful_future)
        };
        ::graceful::__private::spawn_restarting_task::<
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
            ::graceful::Restart::new()
                .backoff(
                    ::core::time::Duration::new(0, 0),
                    ::core::time::Duration::new(0, 0),
                ),
            __graceful_body,
        )
    }
    /// `self` by value needs `Self: Clone`.
    #[track_caller]
    fn owned(self, ctx: &Context) -> ::graceful::TaskHandle<()> {
        ::graceful::bounds::restart_arg::<Self>();
        let __graceful_body = move |ctx: Context| {
            let mut __graceful_self = ::core::clone::Clone::clone(&self);
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
                    __graceful_self.count += 1;
                    ctx.cancelled().await;
                }
            };
            ::graceful::bounds::runs_on_any_thread(__graceful_future)
        };
        ::graceful::__private::spawn_restarting_task::<
            _,
            _,
            <() as ::graceful::bounds::Output>::Checked,
        >(
            ctx,
            "owned",
            {
                static SITE: ::graceful::__private::Site = ::graceful::__private::Site {
                    file: ::core::file!(),
                    line: ::core::line!(),
                    column: ::core::column!(),
                };
                &SITE
            },
            ::graceful::Restart::new()
                .intensity(10, ::core::time::Duration::new(60, 0))
                .on_any_return(),
            __graceful_body,
        )
    }
}
