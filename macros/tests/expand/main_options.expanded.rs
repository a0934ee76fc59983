fn main() {
    ::my_app::graceful::Runtime::new()
        .timeout(::core::time::Duration::new(20, 0))
        .lame_duck(::core::time::Duration::new(1, 500000000))
        .signals([
            {
                const SIGNAL: ::my_app::graceful::Signal = ::my_app::graceful::__private::signal(
                    "SIGTERM",
                );
                SIGNAL
            },
            {
                const SIGNAL: ::my_app::graceful::Signal = ::my_app::graceful::__private::signal(
                    "hup",
                );
                SIGNAL
            },
        ])
        .flavor(::my_app::graceful::Flavor::CurrentThread)
        .run(move |_: ::my_app::graceful::Context| async move {
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
                let __graceful_output: () = loop {};
                return __graceful_output;
            }
            {
                println!("started");
            }
        })
}
