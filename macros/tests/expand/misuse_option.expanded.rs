/// A bad option only: expanded with the defaults beside the error.
fn main() {
    ::graceful::Runtime::new()
        .signals([
            {
                const SIGNAL: ::graceful::Signal = ::graceful::__private::signal(
                    "SIGINT",
                );
                SIGNAL
            },
        ])
        .run(move |_: ::graceful::Context| async move {
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
            {}
        })
}
::core::compile_error! {
    "invalid duration `20 sekunden`: unknown unit `sekunden`; write a number and a unit, such as `\"30s\"`, `\"1500ms\"` or `\"2min\"`"
}
