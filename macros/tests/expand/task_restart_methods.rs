impl Poller {
    /// `self: Arc<Self>` is cloned at each run; nested items keep their `self`.
    #[graceful::task(restart = "on_failure", backoff = "0s..0s")]
    async fn run(self: Arc<Self>, ctx: Context) -> Result<(), Error> {
        struct Tick;
        impl Tick {
            fn at(&self) -> u8 {
                let _ = self;
                0
            }
        }
        self.poll(&ctx, Tick.at()).await
    }

    /// `self` by value needs `Self: Clone`.
    #[graceful::task(restart = "always", intensity = "10 in 1m")]
    async fn owned(mut self, ctx: Context) {
        self.count += 1;
        ctx.cancelled().await;
    }
}
