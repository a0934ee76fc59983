//! Procedural macros of [`gracefully`](https://docs.rs/gracefully) (the
//! library `graceful`): [`#[graceful::main]`](macro@main),
//! [`#[graceful::task]`](macro@task) and [`#[graceful::test]`](macro@test).
//!
//! Depend on the package `gracefully` (library `graceful`), which re-exports
//! them; the code they generate refers to `::graceful` only (or to the path
//! given with `crate = "..."`), so no direct dependency on tokio is needed.

use proc_macro::TokenStream;

mod errors;
mod item;
mod main_attr;
mod options;
mod policy;
mod restart;
mod signature;
mod task_attr;
mod test_attr;
mod types;
mod values;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod snapshots;

/// Runs `async fn main` as a graceful service: signal handlers, a root
/// [`Context`], ordered drain, one deadline, a final report and the exit
/// code.
///
/// ```no_run
/// use graceful::Context;
/// use std::time::Duration;
///
/// #[graceful::main(timeout = "20s")]
/// async fn main(ctx: Context) -> anyhow::Result<()> {
///     let ticker = ctx.clone();
///     ctx.spawn("ticker", async move {
///         while ticker.run_until_cancelled(tokio::time::sleep(Duration::from_secs(1))).await.is_some() {
///             println!("tick");
///         }
///     });
///     Ok(()) // returning does not stop the service: the ticker runs on
/// }
/// ```
///
/// The signature is `async fn main()` or `async fn main(ctx: Context)`,
/// returning `()` or `Result<(), E>` with `E: Debug`. The body runs as the
/// root task, after the signal handlers are installed. The process lives
/// while any task runs, even after `main` returned; it exits when every
/// task has finished by itself, or when a shutdown (a signal,
/// [`Context::shutdown`], the first failure) has drained everything.
/// `main` is the root task and always critical: its `Err` or panic starts
/// the shutdown and makes the exit code 1 (the failure policies are options
/// of [`#[graceful::task]`](macro@task)).
///
/// # Options
///
/// | option | value | default |
/// |---|---|---|
/// | `timeout` | the shutdown deadline, a duration string such as `"20s"` or `"1500ms"` | `"30s"` |
/// | `lame_duck` | how long to keep serving, "not ready", before cancelling anything | none |
/// | `signals` | the signals that start a shutdown, by the names of [`Signal`], with or without `SIG`, in any case: `["SIGINT", "SIGTERM"]`, `["term", "hup"]` | `SIGINT` and `SIGTERM` (Windows: every console event) |
/// | `flavor` | `"multi_thread"` or `"current_thread"` | `"multi_thread"` |
/// | `worker_threads` | threads of the `multi_thread` flavor | one per core |
/// | `crate` | the path of the `graceful` crate, if renamed or re-exported | `"::graceful"` |
///
/// Durations and signal names are checked at compile time. At run time,
/// `GRACEFUL_TIMEOUT` and `GRACEFUL_LAME_DUCK` override `timeout` and
/// `lame_duck`.
///
/// ```no_run
/// #[graceful::main(timeout = "10s", lame_duck = "5s", signals = ["SIGTERM"], flavor = "current_thread")]
/// async fn main() {}
/// ```
///
/// # Exit codes
///
/// 0: everything finished without failure (also after a signal); 1: a
/// task, `main` or a hook failed; 124: the deadline passed; 128 + n: a
/// second signal n forced the exit.
///
/// # What it expands to
///
/// A plain `fn main()` that calls [`Runtime`]'s builder with the options
/// and runs the body; everything the attribute does is available without
/// it through [`Runtime`].
///
/// [`Context`]: https://docs.rs/gracefully/latest/graceful/struct.Context.html
/// [`Context::shutdown`]: https://docs.rs/gracefully/latest/graceful/struct.Context.html#method.shutdown
/// [`Runtime`]: https://docs.rs/gracefully/latest/graceful/struct.Runtime.html
/// [`Signal`]: https://docs.rs/gracefully/latest/graceful/enum.Signal.html
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    main_attr::expand(args.into(), item.into()).into()
}

/// Turns an `async fn` into a function that starts its body as a tracked
/// task and returns its [`TaskHandle`] at once.
///
/// ```
/// use graceful::Context;
/// use std::time::Duration;
///
/// #[graceful::task]
/// async fn ticker(ctx: Context, word: String) -> anyhow::Result<()> {
///     let mut every = tokio::time::interval(Duration::from_millis(10));
///     while ctx.run_until_cancelled(every.tick()).await.is_some() {
///         println!("{word} in a loop");
///     }
///     Ok(())
/// }
///
/// #[graceful::main]
/// async fn main(ctx: Context) {
///     let handle = ticker(&ctx, "hello".to_string()); // starts the task, returns at once
///     ctx.shutdown(); // as a signal would: the ticker's context is cancelled
///     assert!(handle.await.is_ok());
/// }
/// ```
///
/// On `async fn f(ctx: Context, a: A, b: B) -> R`, the attribute writes
/// `fn f(ctx: &Context, a: A, b: B) -> TaskHandle<R>`: calling
/// `f(&parent, a, b)` starts the body as a task of `parent`'s scope with
/// its own [`Context`]. The task is tracked whether or not the handle is
/// kept: at shutdown it is cancelled and awaited, and by default, if it
/// returns `Err` or panics, the whole process shuts down and exits with
/// code 1 (see [failure policy](#failure-policy) for the other choices).
/// The report names the task, where the function is defined and where it
/// was called (the function is `#[track_caller]`).
///
/// # Rules
///
/// - The first parameter is the task's own `Context`, by value.
/// - The other parameters are moved into the task, which outlives the call:
///   they must be owned, `Send` and `'static` (`String`, not `&str`;
///   `Arc<T>` to share).
/// - The output is `()` or `Result<T, E>` with `E: Display` (such as
///   `anyhow::Result<T>`).
/// - Associated functions may take `self` by value or `self: Arc<Self>`,
///   not `&self`. Type and const generics work (with `T: Send + 'static`);
///   lifetime parameters do not.
///
/// Anything else is a compile error that says what to write instead; the
/// `tests/ui/fail` directory of the repository lists them all.
///
/// # Options
///
/// | option | value | default |
/// |---|---|---|
/// | `name` | the task's name in reports and `tracing` events | the function's name |
/// | `policy` | what a failure does: `"critical"` starts the shutdown (exit code 1), `"isolated"` is reported and the process goes on; `"essential"` is critical, and its end without failure starts the shutdown too | the scope's ([`Context::default_policy`]): `"critical"`, `"isolated"` under an HTTP request |
/// | `restart` | start the task again `"on_failure"` (an `Err` or a panic), or `"always"` (whenever it returns) | none: the task runs once |
/// | `backoff` | with `restart`: the first delay before a restart and the longest, `"min..max"` | `"100ms..30s"` |
/// | `intensity` | with `restart`: the most restarts within a sliding window, `"N in window"` | `"5 in 60s"` |
/// | `crate` | the path of the `graceful` crate, if renamed or re-exported | `"::graceful"` |
///
/// ```
/// # use graceful::Context;
/// #[graceful::task(name = "price-fetcher")]
/// async fn fetch(ctx: Context, url: String) -> Result<(), std::io::Error> {
///     # let _ = (ctx, url);
///     Ok(())
/// }
/// ```
///
/// # Failure policy
///
/// A task is *critical* unless its scope says otherwise: its failure starts
/// the shutdown of the whole process. `policy = "isolated"` makes a failure
/// reported and counted only; `policy = "critical"` holds even in a scope
/// whose tasks are isolated by default. `policy = "essential"` is for a task
/// the process is nothing without (a queue consumer): its end, even `Ok`,
/// starts the shutdown, so a consumer that returns quietly does not leave a
/// process that is live, ready and idle.
///
/// With `restart`, a failed task is started again after a delay that
/// doubles at each consecutive restart, from the first `backoff` bound to
/// the second, each drawn in the upper half of its value (jitter);
/// `"0s..0s"` restarts at once. At most `intensity` restarts fit in any
/// window of its length; one failure more escalates as critical and the
/// report says so. `restart = "always"` also restarts a task that returned
/// `Ok` or `()`. Once the shutdown has begun, no task is restarted. The
/// handle yields the output of the last run. A restarted task takes no
/// `policy`: past its intensity, its failure is critical.
///
/// Each run takes its own clone of the arguments (and of `self`), so they
/// must be `Clone`, which the compiler checks under each argument; share a
/// value between runs with an `Arc`.
///
/// ```
/// use graceful::Context;
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// #[graceful::task(restart = "on_failure", backoff = "10ms..1s", intensity = "3 in 1m")]
/// async fn consume(_ctx: Context, queue: String, runs: Arc<AtomicU32>) -> Result<(), String> {
///     if runs.fetch_add(1, Ordering::SeqCst) < 2 {
///         return Err(format!("{queue}: broker unreachable")); // started again in 5 to 10 ms, then 10 to 20 ms
///     }
///     Ok(())
/// }
///
/// #[graceful::task(policy = "isolated")]
/// async fn warm_cache(_ctx: Context) -> Result<(), String> {
///     Err("cache unavailable".to_string())
/// }
///
/// #[graceful::main]
/// async fn main(ctx: Context) {
///     let runs = Arc::new(AtomicU32::new(0));
///     let consumer = consume(&ctx, "jobs".to_string(), runs.clone());
///     assert_eq!(consumer.await, Ok(())); // the third run succeeded
///     assert_eq!(runs.load(Ordering::SeqCst), 3);
///     assert!(warm_cache(&ctx).await.is_err()); // reported; the process goes on
/// }
/// ```
///
/// Without the attribute, the same is [`Context::spawn_with`] and
/// [`Context::spawn_restarting`] with a [`Restart`].
///
/// [`Context`]: https://docs.rs/gracefully/latest/graceful/struct.Context.html
/// [`Context::default_policy`]: https://docs.rs/gracefully/latest/graceful/struct.Context.html#method.default_policy
/// [`Context::spawn_with`]: https://docs.rs/gracefully/latest/graceful/struct.Context.html#method.spawn_with
/// [`Context::spawn_restarting`]: https://docs.rs/gracefully/latest/graceful/struct.Context.html#method.spawn_restarting
/// [`Restart`]: https://docs.rs/gracefully/latest/graceful/struct.Restart.html
/// [`TaskHandle`]: https://docs.rs/gracefully/latest/graceful/struct.TaskHandle.html
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    task_attr::expand(args.into(), item.into()).into()
}

/// Tests the lifecycle: the body runs as `main` does, under a supervised
/// runtime whose clock starts paused, with simulated signals, and can await
/// the [`Report`] and assert on it (feature `test-util` of `graceful`, for
/// dev-dependencies).
///
/// ```
/// use graceful::{Context, Reason, Signal, Test};
/// use graceful::report::Outcome;
/// use std::time::Duration;
///
/// #[graceful::task]
/// async fn flusher(ctx: Context) {
///     ctx.cancelled().await;
///     tokio::time::sleep(Duration::from_secs(20)).await; // flushes for 20 s
/// }
///
/// #[graceful::test(timeout = "30s")]
/// async fn flushes_within_the_deadline(ctx: Context, test: Test) {
///     flusher(&ctx);
///     ctx.defer("close db", async {});
///     test.signal(Signal::Terminate);
///     let report = test.report().await; // 20 s of virtual time, no real time
///     assert_eq!(report.reason, Reason::Signal(Signal::Terminate));
///     assert_eq!(report.outcome, Outcome::Completed);
///     let order: Vec<String> = test.events().iter().map(ToString::to_string).collect();
///     assert_eq!(order, [
///         "task `flusher` ended in `main` at 20.00s",
///         "hook `close db` ran in `main` at 20.00s",
///         "scope `main` drained at 20.00s",
///     ]);
/// }
/// # fn main() {} // doctests do not run `#[test]` functions: the facade's tests do
/// ```
///
/// The function is `async fn name(ctx: Context, test: Test)`; either
/// parameter may be left out. It returns `()`, or `Result<(), E>` with
/// `E: Debug` to use `?` (an `Err` fails the test). The attribute makes it
/// a `#[test]`: other attributes such as `#[should_panic]` and `#[ignore]`
/// keep working.
///
/// - `ctx` is the root [`Context`], of the scope `main`, as `main`'s.
/// - `test` is a [`Test`]: [`signal`](https://docs.rs/gracefully/latest/graceful/struct.Test.html#method.signal)
///   delivers a simulated signal (the process's own handlers are never
///   installed, so tests run in parallel),
///   [`advance`](https://docs.rs/gracefully/latest/graceful/struct.Test.html#method.advance) moves time on,
///   [`report`](https://docs.rs/gracefully/latest/graceful/struct.Test.html#method.report) waits for the end
///   of the lifecycle, [`events`](https://docs.rs/gracefully/latest/graceful/struct.Test.html#method.events)
///   lists which task, hook and scope ended when, and
///   [`dump`](https://docs.rs/gracefully/latest/graceful/struct.Test.html#method.dump) returns the task dump.
///
/// The body is not a task: like `main`, it keeps the lifecycle alive while
/// it runs (until it awaits the report), but no drain waits for it. When it
/// returns, a lifecycle still running is shut down as `ctx.shutdown()`
/// would and awaited. Then the test fails if:
///
/// - the body returned `Err` or panicked;
/// - the shutdown was not clean (a failure, the deadline, a forced exit)
///   and the body did not await `test.report()` to expect it: the message
///   is the report;
/// - a task was still running or a hook never ran, that an awaited report
///   did not leave behind: the message names each.
///
/// # Options
///
/// | option | value | default |
/// |---|---|---|
/// | `timeout` | the shutdown deadline, a duration string such as `"5s"` | `"30s"` |
/// | `lame_duck` | how long to keep serving, "not ready", before cancelling anything | none |
/// | `start_paused` | whether tokio's clock starts paused: time moves only when every task waits, straight to the next timer | `true` |
/// | `flavor` | `"current_thread"`, or `"multi_thread"` with `start_paused = false` | `"current_thread"` |
/// | `worker_threads` | threads of the `multi_thread` flavor | one per core |
/// | `crate` | the path of the `graceful` crate, if renamed or re-exported | `"::graceful"` |
///
/// The signals are `main`'s defaults: `SIGINT` and `SIGTERM` shut down,
/// `SIGUSR1` prints the task dump, `SIGHUP` runs the reload hooks if any.
/// The environment (`GRACEFUL_TIMEOUT`) is not read.
///
/// ```
/// # use graceful::Context;
/// #[graceful::test(start_paused = false, flavor = "multi_thread", worker_threads = 2)]
/// async fn on_real_threads(ctx: Context) {
///     let answer = tokio::task::spawn_blocking(|| 6 * 7).await.unwrap();
///     assert_eq!(answer, 42);
///     assert!(!ctx.is_cancelled());
/// }
/// # fn main() {}
/// ```
///
/// # What it expands to
///
/// A `#[test] fn name()` that calls [`Runtime::test`] with the options;
/// everything the attribute does is available without it.
///
/// [`Context`]: https://docs.rs/gracefully/latest/graceful/struct.Context.html
/// [`Report`]: https://docs.rs/gracefully/latest/graceful/struct.Report.html
/// [`Runtime::test`]: https://docs.rs/gracefully/latest/graceful/struct.Runtime.html#method.test
/// [`Test`]: https://docs.rs/gracefully/latest/graceful/struct.Test.html
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::expand(args.into(), item.into()).into()
}
