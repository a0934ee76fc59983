//! The hooks a scope runs: its teardown hooks ([`Context::defer`]), run by
//! its drain, and the reload hooks ([`Context::on_reload`]), run on
//! `SIGHUP`.

use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;

use super::Context;
use crate::task::TaskOutput;

impl Context {
    /// Registers a teardown hook of this scope: `hook` runs at shutdown after
    /// every task of this scope (and its children) ended. Hooks run last
    /// registered first, each one even if an earlier one failed; a hook that
    /// returns `Err` or panics is reported and makes the exit code 1. The
    /// deadline covers hooks too.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// ctx.defer("close db", async { println!("db closed") });
    /// ctx.defer("flush cache", async { println!("cache flushed") }); // runs first
    /// # });
    /// ```
    #[track_caller]
    pub fn defer<F>(&self, name: impl Into<Cow<'static, str>>, hook: F)
    where
        F: Future + Send + 'static,
        F::Output: TaskOutput,
    {
        self.scope.defer(name.into(), Location::caller(), hook);
    }

    /// Registers a reload hook: on `SIGHUP`, every reload hook runs, one
    /// after the other in the order they were registered, while the
    /// service goes on (re-read a configuration file, reopen log files).
    /// A hook that fails is said on stderr at once and reported as an
    /// isolated failure. Once a reload hook exists, `SIGHUP` reloads even
    /// if it is also a shutdown signal; without one, `SIGHUP` is a shutdown
    /// if listed in [`Runtime::signals`](crate::Runtime::signals), else,
    /// under a service manager (`INVOCATION_ID` or `NOTIFY_SOCKET` set),
    /// said on stderr and ignored (`systemctl reload` must not stop a
    /// service), else its default action.
    /// Nothing is reloaded once the shutdown began. (Windows has no
    /// `SIGHUP`: the hooks are kept but no signal runs them.)
    ///
    /// ```no_run
    /// use graceful::Runtime;
    /// use std::sync::{Arc, RwLock};
    ///
    /// Runtime::new().run(|ctx| async move {
    ///     let config = Arc::new(RwLock::new(std::fs::read_to_string("app.toml")?));
    ///     let c = config.clone();
    ///     ctx.on_reload("config", move || {
    ///         let c = c.clone();
    ///         async move {
    ///             *c.write().unwrap() = tokio::fs::read_to_string("app.toml").await?;
    ///             Ok::<(), std::io::Error>(())
    ///         }
    ///     });
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// ```
    #[track_caller]
    pub fn on_reload<F, Fut>(&self, name: impl Into<Cow<'static, str>>, hook: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let shared = self.scope.shared();
        shared.reloads.add(
            name.into(),
            Location::caller(),
            self.scope.path().to_owned(),
            hook,
        );
        #[cfg(unix)]
        if let Some(handlers) = &shared.handlers {
            let hangup = crate::signal::os::Heard::Signal(crate::signal::table::RELOAD);
            if let Err(error) = handlers.hear(hangup) {
                tracing::error!(%error, "cannot listen to SIGHUP: reload hooks will not run");
            }
        }
    }
}
