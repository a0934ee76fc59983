impl Poller {
    #[graceful::task]
    async fn run(self: Arc<Self>, ctx: Context) -> Result<(), Error> {
        self.poll(&ctx).await
    }

    #[graceful::task(name = "show")]
    async fn show<T>(ctx: Context, value: T) -> Result<Self, String>
    where
        T: Display + Send + 'static,
    {
        ctx.cancelled().await;
        Err(value.to_string())
    }
}
