//! Associated functions: `self: Arc<Self>`, `self` by value, no receiver.

use std::sync::Arc;

use graceful::Context;

struct Poller {
    label: String,
}

impl Poller {
    #[graceful::task]
    async fn shared(self: Arc<Self>, _ctx: Context) -> Result<String, String> {
        Ok(self.label.clone())
    }

    #[graceful::task]
    async fn owned(mut self, _ctx: Context, suffix: String) -> Result<String, String> {
        self.label.push_str(&suffix);
        Ok(self.label)
    }

    #[graceful::task]
    async fn make(_ctx: Context) -> Result<Self, String> {
        Ok(Self::new("made"))
    }

    fn new(label: &str) -> Self {
        Poller {
            label: label.to_string(),
        }
    }
}

#[graceful::main]
async fn main(ctx: Context) {
    let poller = Arc::new(Poller::new("a"));
    assert_eq!(poller.clone().shared(&ctx).await.unwrap(), "a");
    let owned = Poller::new("b").owned(&ctx, "c".into()).await;
    assert_eq!(owned.unwrap(), "bc");
    assert_eq!(Poller::make(&ctx).await.unwrap().label, "made");
}
