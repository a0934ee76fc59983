fn main() {
    ::graceful::Runtime::new()
        .run(move |ctx: Context| async move {
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
                let __graceful_output: anyhow::Result<()> = loop {};
                return __graceful_output;
            }
            {
                ticker(&ctx, "hello".to_string());
                Ok(())
            }
        })
}
