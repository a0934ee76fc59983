/// Every restart option: each run takes its own clone of the arguments.
#[track_caller]
fn consume(
    ctx: &Context,
    queue: String,
    seen: Vec<u64>,
    arg2: (u8, u8),
) -> ::graceful::TaskHandle<()> {
    ::graceful::bounds::restart_arg::<String>();
    ::graceful::bounds::restart_arg::<Vec<u64>>();
    ::graceful::bounds::restart_arg::<(u8, u8)>();
    let queue: <String as ::graceful::bounds::TaskArg>::Arg = queue;
    let seen: <Vec<u64> as ::graceful::bounds::TaskArg>::Arg = seen;
    let __graceful_body = move |ctx: Context| {
        let queue = ::core::clone::Clone::clone(&queue);
        let mut seen = ::core::clone::Clone::clone(&seen);
        let (a, b) = ::core::clone::Clone::clone(&arg2);
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
                seen.push(u64::from(a + b));
                consume_from(&ctx, &queue, seen).await
            }
        };
        ::graceful::bounds::runs_on_any_thread(__graceful_future)
    };
    ::graceful::__private::spawn_restarting_task::<
        _,
        _,
        <anyhow::Result<()> as ::graceful::bounds::Output>::Checked,
    >(
        ctx,
        "consume",
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
                ::core::time::Duration::new(0, 250000000),
                ::core::time::Duration::new(60, 0),
            )
            .intensity(3, ::core::time::Duration::new(10, 0))
            .on_any_return(),
        __graceful_body,
    )
}
/// The defaults, `100ms..30s` and `5 in 60s`, with a generic argument.
#[track_caller]
fn watch<T: Clone + Send + 'static>(
    ctx: &Context,
    what: T,
    notify: impl Fn(T) + Clone + Send + 'static,
) -> ::graceful::TaskHandle<()> {
    ::graceful::bounds::restart_arg::<T>();
    let what: <T as ::graceful::bounds::TaskArg>::Arg = what;
    let __graceful_body = move |_ctx: Context| {
        let what = ::core::clone::Clone::clone(&what);
        let notify = ::core::clone::Clone::clone(&notify);
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
            { notify(what) }
        };
        ::graceful::bounds::runs_on_any_thread(__graceful_future)
    };
    ::graceful::__private::spawn_restarting_task::<
        _,
        _,
        <() as ::graceful::bounds::Output>::Checked,
    >(
        ctx,
        "watch",
        {
            static SITE: ::graceful::__private::Site = ::graceful::__private::Site {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
            };
            &SITE
        },
        ::graceful::Restart::new(),
        __graceful_body,
    )
}
