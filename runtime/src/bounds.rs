//! What `#[graceful::task]` requires of a task, its arguments and its
//! output, as public items so that a compile error names a documented
//! bound whose name says why. Nothing here is called by hand: the macros
//! call it, and the compiler quotes it when a requirement is not met.
//!
//! | requirement | why | named in the error |
//! |---|---|---|
//! | the task's future is `Send` (nothing `!Send`, such as an `Rc`, held across an `.await`) | a task runs on whichever worker thread is free, and may move at each `.await` | [`runs_on_any_thread`] |
//! | each argument is `Send` | it is moved into the task | [`TaskArg`] |
//! | each argument of a restarted task is `Clone` | it is taken again at each run | [`RestartArg`], [`restart_arg`] |
//! | the output is a [`TaskOutput`] | its error is kept for the report | [`TaskOutput`], [`Output`] |
//!
//! ```compile_fail
//! use std::rc::Rc;
//!
//! #[graceful::task]
//! async fn count(ctx: graceful::Context) {
//!     let hits = Rc::new(0); // not `Send`, and held across the `.await`:
//!     ctx.cancelled().await; // "required by a bound in `runs_on_any_thread`"
//!     println!("{hits}");
//! }
//! ```
//!
//! The same task with an `Arc`:
//!
//! ```
//! use std::sync::Arc;
//!
//! #[graceful::task]
//! async fn count(ctx: graceful::Context) {
//!     let hits = Arc::new(0);
//!     ctx.cancelled().await;
//!     println!("{hits}");
//! }
//! ```

use std::future::Future;

use crate::TaskOutput;

/// A task's future, which must be `Send`: a task runs on whichever worker
/// thread of the runtime is free, and may move between them at each
/// `.await`. What it holds across an `.await` must be `Send`: an `Arc`
/// rather than an `Rc`, a `std::sync::Mutex` guard dropped before the
/// `.await` (or a `tokio::sync::Mutex`). Returns `future` unchanged.
pub fn runs_on_any_thread<F: Future + Send>(future: F) -> F {
    future
}

/// An argument of a task, moved into it and so to any worker thread: it
/// must be `Send`. The macro writes each argument's type as
/// `<T as TaskArg>::Arg`, which is `T`, so that a `T` that is not `Send` is
/// reported once, at the type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent between threads safely",
    label = "`{Self}` cannot be sent between threads safely",
    note = "a task's arguments move with it to any worker thread: they must be `Send` (an `Arc` rather than an `Rc`)"
)]
pub trait TaskArg {
    /// `Self`.
    type Arg;
}
#[diagnostic::do_not_recommend]
impl<T: Send> TaskArg for T {
    type Arg = T;
}

/// An argument of a restarted task (`#[graceful::task(restart = ..)]`),
/// taken again at each run: it must be `Clone`.
#[diagnostic::on_unimplemented(
    message = "a restarted task takes its arguments again at each run, so `{Self}` must be `Clone`",
    label = "`{Self}` is not `Clone`",
    note = "derive or implement `Clone` for it, or pass an `Arc` of it"
)]
pub trait RestartArg: Clone {}
impl<T: Clone> RestartArg for T {}

/// Checks, where an argument's type is written, that a restarted task can
/// take it again.
pub const fn restart_arg<T: RestartArg>() {}

/// A task's output, which must be a [`TaskOutput`]. The macro writes the
/// output type `R` as `<R as Output>::Checked`, which is `R`, so that an
/// `R` that is not a `TaskOutput` is reported where it is written, with
/// that trait's message, and not again at the spawn.
pub trait Output {
    /// `Self`.
    type Checked;
}
#[diagnostic::do_not_recommend]
impl<T: TaskOutput> Output for T {
    type Checked = T;
}
