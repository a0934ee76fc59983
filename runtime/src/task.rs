//! What a task returns, how its failure is told apart from success, and the
//! handle that awaits it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as Cx, Poll, ready};

use crate::failure::Error;
use crate::panic::Panic;

/// What a task, a deferred hook, `main` or a `#[graceful::test]` returns:
/// `()`, `Result<T, E>` with an error that converts into
/// `Box<dyn Error + Send + Sync>` (what `?` converts to: any `Send + Sync`
/// error type, `anyhow::Error`, `String`, `&str`), or never (`!`).
///
/// An `Err` is a failure: its error is kept as its value (a
/// [`report::Error`](crate::report::Error), downcastable to `E`) for the
/// final report and the task's handle, makes the process exit with code 1,
/// and (for a task) starts the shutdown of everything else. The report
/// prints the error with its causes, so an `anyhow::Error` shows its whole
/// chain. `main` and a test return `()` or `Result<(), E>`.
///
/// ```
/// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
/// ctx.spawn("unit", async {}); // `()`: never a failure
/// ctx.spawn("fallible", async { Ok::<_, std::io::Error>(()) });
/// ctx.spawn("anyhow", async { anyhow::Ok(()) }); // an `Err` shows its chain of causes
/// ctx.shutdown();
/// # });
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be what a graceful task, `main` or test returns",
    label = "returns `()` or `Result<T, E>` where `E: Into<Box<dyn Error + Send + Sync>>`",
    note = "an error must be kept for the report and may be read on another thread: it must convert into `Box<dyn std::error::Error + Send + Sync>`, so implement `std::error::Error` and be `Send` and `Sync` (or use `anyhow::Error`, `std::io::Error`, `String`); `Box<dyn Error>` is neither `Send` nor `Sync`: write `Box<dyn Error + Send + Sync>`"
)]
pub trait TaskOutput: Send + 'static + sealed::Sealed {
    /// What the task's handle yields when it succeeded: `T` of
    /// `Result<T, E>`, `()` of `()`.
    type Value: Send + 'static;

    /// The value, or the error kept as a failure.
    #[doc(hidden)]
    fn into_result(self) -> Result<Self::Value, Error>;
}

mod sealed {
    /// Only the outputs of [`TaskOutput`](super::TaskOutput)'s docs.
    pub trait Sealed {}
    impl Sealed for () {}
    impl Sealed for super::Never {}
    impl<T, E> Sealed for Result<T, E> {}
}

impl TaskOutput for () {
    type Value = ();

    fn into_result(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Names the never type `!` on stable Rust, so that a task that never returns
/// (`async { loop { .. } }`, whose output is `!` in edition 2024) is accepted.
pub trait FnOutput {
    /// The return type.
    type Output;
}
impl<O> FnOutput for fn() -> O {
    type Output = O;
}
/// The never type, `!`.
#[allow(unreachable_pub)] // only named in the impl below
pub type Never = <fn() -> ! as FnOutput>::Output;

#[diagnostic::do_not_recommend]
impl TaskOutput for Never {
    type Value = Never;

    fn into_result(self) -> Result<Never, Error> {
        self
    }
}

// Not recommended: an error type that does not convert is reported as an
// output that is not a `TaskOutput`, with its message, rather than as the
// bound of `Into` deep inside it.
#[diagnostic::do_not_recommend]
impl<T, E> TaskOutput for Result<T, E>
where
    T: Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync + 'static>> + Send + 'static,
{
    type Value = T;

    fn into_result(self) -> Result<T, Error> {
        self.map_err(Error::new)
    }
}

/// Why awaiting a [`TaskHandle`] gave no value.
///
/// ```
/// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
/// use graceful::TaskError;
///
/// let parser = ctx.spawn_with(graceful::Policy::Isolated, "parser", async {
///     Err::<u32, _>(std::io::Error::other("unexpected token"))
/// });
/// let Err(TaskError::Failed(error)) = parser.await else { unreachable!() };
/// assert_eq!(error.downcast_ref::<std::io::Error>().unwrap().to_string(), "unexpected token");
///
/// let handle = ctx.spawn_with(graceful::Policy::Isolated, "lexer", async { panic!("bad byte") });
/// assert!(matches!(handle.await, Err(TaskError::Panicked(p)) if p.message == "bad byte"));
/// # ctx.shutdown();
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// The task returned `Err`: its error, the same value the final report
    /// holds.
    Failed(Error),
    /// The task panicked; the panic is also in the final report.
    Panicked(Panic),
    /// The task was aborted through [`TaskHandle::abort`].
    Aborted,
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(error) => write!(f, "task returned an error: {error:#}"),
            TaskError::Panicked(panic) => write!(f, "task {panic}"),
            TaskError::Aborted => f.write_str("task was aborted"),
        }
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TaskError::Failed(error) => Some(error),
            _ => None,
        }
    }
}

/// A handle to a running task, returned by [`Context::spawn`](crate::Context::spawn)
/// and by calls to `#[graceful::task]` functions.
///
/// `T` is the task's value: `T` of the `Result<T, E>` it returns (`()` for
/// `()`). Awaiting the handle yields it, or a [`TaskError`] if the task
/// returned `Err` (the error, [`TaskError::Failed`]), panicked or was
/// aborted. Dropping it detaches nothing: the task stays tracked by its
/// scope, is cancelled and awaited at shutdown, and its failure is reported
/// whether or not anybody awaits the handle.
///
/// ```
/// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
/// let answer = ctx.spawn("answer", async { Ok::<_, std::io::Error>(42) });
/// assert_eq!(answer.await.unwrap(), 42);
/// # });
/// ```
pub struct TaskHandle<T> {
    pub(crate) join: tokio::task::JoinHandle<Result<T, TaskError>>,
}

impl<T> TaskHandle<T> {
    /// Whether the task has ended.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// let handle = ctx.spawn("quick", async {});
    /// while !handle.is_finished() {
    ///     tokio::task::yield_now().await;
    /// }
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// Stops the task at its next `.await`. An aborted task is not a failure.
    ///
    /// ```
    /// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
    /// use graceful::TaskError;
    ///
    /// let handle = ctx.spawn("forever", std::future::pending::<()>());
    /// handle.abort();
    /// assert_eq!(handle.await, Err(TaskError::Aborted)); // and the exit code stays 0
    /// # });
    /// ```
    pub fn abort(&self) {
        self.join.abort();
    }
}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> Future for TaskHandle<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Cx<'_>) -> Poll<Self::Output> {
        Poll::Ready(match ready!(Pin::new(&mut self.join).poll(cx)) {
            Ok(ended) => ended,
            Err(join) if join.is_panic() => {
                Err(TaskError::Panicked(Panic::escaped(join.into_panic())))
            }
            Err(_) => Err(TaskError::Aborted),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_err_is_kept_as_its_value() {
        let out: Result<(), std::io::Error> = Err(std::io::Error::other("disk full"));
        let error = out.into_result().unwrap_err();
        assert_eq!(
            error.downcast_ref::<std::io::Error>().unwrap().to_string(),
            "disk full"
        );
        assert_eq!(Ok::<u8, String>(1).into_result(), Ok(1));
        assert_eq!(().into_result(), Ok(()));
    }
}
