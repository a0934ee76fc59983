/// Bad restart options: still the calling convention, without what is wrong.
#[track_caller]
fn consume(ctx: &Context, queue: String) -> ::graceful::TaskHandle<()> {
    ::graceful::bounds::restart_arg::<String>();
    let queue: <String as ::graceful::bounds::TaskArg>::Arg = queue;
    let __graceful_body = move |ctx: Context| {
        let queue = ::core::clone::Clone::clone(&queue);
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
                let _ = (ctx, queue);
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
        "consume",
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
::core::compile_error! {
    "the backoff `30s..1s` starts above its longest delay: write `\"1s..30s\"`"
}
::core::compile_error! {
    "`policy` does not apply to a restarted task, whose failure escalates as critical past its `intensity`: remove `policy` or `restart`"
}
/// `backoff` without `restart`: a task started once, with the errors.
#[track_caller]
fn once(ctx: &Context) -> ::graceful::TaskHandle<()> {
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
                let __graceful_output: <() as ::graceful::bounds::Output>::Checked = loop {};
                return __graceful_output;
            }
            {
                let _ = ctx;
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
        "once",
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
::core::compile_error! {
    "an intensity of `0 in 60s` allows no restart: write at least `\"1 in 60s\"`, or remove `restart` to let the first failure start the shutdown"
}
::core::compile_error! {
    "unknown policy `fatal`: write `policy = \"critical\"` or `policy = \"isolated\"` or `policy = \"essential\"`"
}
::core::compile_error! {
    "`backoff` applies to a restarted task only: add `restart = \"on_failure\"`, or remove `backoff`"
}
::core::compile_error! {
    "`intensity` applies to a restarted task only: add `restart = \"on_failure\"`, or remove `intensity`"
}
