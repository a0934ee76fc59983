//! `main` as the root task: erased once at the entry point so that what
//! runs it is not generic, and tracked and reported like any task.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;

use crate::context::Context;
use crate::failure::Error;
use crate::policy::Policy;
use crate::task::TaskOutput;
use crate::tracked::Origin;

/// `main`, erased once at the entry point so that what runs it is not
/// generic (the public entry points alone carry the bound, where the
/// compiler reports a wrong output at `main`'s return type), with where it
/// was called from (the root task's spawn site).
pub(crate) struct RootTask<'a> {
    start: Box<dyn FnOnce(Context) -> MainFuture + 'a>,
    at: &'static Location<'static>,
}

type MainFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

impl<'a> RootTask<'a> {
    pub(crate) fn new<F, Fut>(main: F, at: &'static Location<'static>) -> Self
    where
        F: FnOnce(Context) -> Fut + 'a,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput<Value = ()>,
    {
        RootTask {
            start: Box::new(move |ctx| {
                let body = main(ctx);
                Box::pin(async move { body.await.into_result() })
            }),
            at,
        }
    }

    /// Runs `main`'s body as the root task, tracked and reported like any
    /// task. Once it returned without failure, the service is set up: it
    /// tells systemd it is ready.
    pub(crate) fn start(self, ctx: Context) {
        let body = (self.start)(ctx.clone());
        let c = ctx.clone();
        let body = async move {
            let result = body.await;
            if result.is_ok() && c.reason().is_none() {
                c.notify_ready();
            }
            result
        };
        let origin = Origin::new("main".into(), self.at);
        ctx.spawn_at(origin, Some(Policy::Critical), body);
    }
}
