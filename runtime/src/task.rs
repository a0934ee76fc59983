//! What a task returns, how its failure is told apart from success, and the
//! handle that awaits it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as Cx, Poll, ready};

use crate::panic::Panic;

/// The output of a task or a deferred hook: `()` or `Result<T, E>` with an
/// error that can be displayed.
///
/// An `Err` is a failure: it is kept for the final report, makes the process
/// exit with code 1, and (for a task) starts the shutdown of everything else.
/// The error is rendered with `{:#}`, so an `anyhow::Error` shows its whole
/// chain of causes.
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
    message = "`{Self}` cannot be the output of a graceful task",
    label = "a task returns `()` or `Result<T, E>` where `E: Display`",
    note = "a task's error must be reportable: return `Result<T, E>` with `E: std::fmt::Display` (for example `anyhow::Result<T>` or `std::io::Result<T>`)"
)]
pub trait TaskOutput: Send + 'static {
    /// The text of the failure, or `None` if the output is a success.
    fn failure(&self) -> Option<String>;
}

impl TaskOutput for () {
    fn failure(&self) -> Option<String> {
        None
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
    fn failure(&self) -> Option<String> {
        *self
    }
}

impl<T, E> TaskOutput for Result<T, E>
where
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn failure(&self) -> Option<String> {
        self.as_ref().err().map(|e| format!("{e:#}"))
    }
}

/// What `main` may return: `()` or `Result<(), E>` with `E: Debug`, as for a
/// plain Rust `main`.
///
/// ```
/// use graceful::Runtime;
///
/// let report = Runtime::new()
///     .signals([])
///     .block_on(|_ctx| async { Err::<(), _>(std::io::Error::other("bad config")) });
/// assert_eq!(report.failures[0].who.name, "main");
/// assert_eq!(report.exit_code(), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`main` cannot return `{Self}`",
    label = "`main` returns `()` or `Result<(), E>` where `E: Debug`"
)]
pub trait MainOutput: Send + 'static {
    /// The text of the failure, or `None` if `main` succeeded.
    fn failure(&self) -> Option<String>;
}

impl MainOutput for () {
    fn failure(&self) -> Option<String> {
        None
    }
}

impl<E: fmt::Debug + Send + 'static> MainOutput for Result<(), E> {
    fn failure(&self) -> Option<String> {
        self.as_ref().err().map(|e| format!("{e:?}"))
    }
}

/// Why awaiting a [`TaskHandle`] gave no output.
///
/// ```
/// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
/// use graceful::TaskError;
///
/// let handle = ctx.spawn("parser", async { panic!("unexpected token") });
/// assert!(matches!(handle.await, Err(TaskError::Panicked(p)) if p.message == "unexpected token"));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked; the panic is also in the final report.
    Panicked(Panic),
    /// The task was aborted through [`TaskHandle::abort`].
    Aborted,
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(panic) => write!(f, "task {panic}"),
            TaskError::Aborted => f.write_str("task was aborted"),
        }
    }
}

impl std::error::Error for TaskError {}

/// A handle to a running task, returned by [`Context::spawn`](crate::Context::spawn)
/// and by calls to `#[graceful::task]` functions.
///
/// Awaiting it yields the task's output, or a [`TaskError`] if it panicked or
/// was aborted. Dropping it detaches nothing: the task stays tracked by its
/// scope, is cancelled and awaited at shutdown, and its failure is reported
/// whether or not anybody awaits the handle.
///
/// ```
/// # graceful::Runtime::new().signals([]).block_on(|ctx| async move {
/// let answer = ctx.spawn("answer", async { Ok::<_, std::io::Error>(42) });
/// assert_eq!(answer.await.unwrap().unwrap(), 42);
/// # });
/// ```
pub struct TaskHandle<T> {
    pub(crate) join: tokio::task::JoinHandle<Result<T, Panic>>,
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
            Ok(Ok(output)) => Ok(output),
            Ok(Err(panic)) => Err(TaskError::Panicked(panic)),
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
    fn errors_render_with_their_causes() {
        let out: Result<(), std::io::Error> = Err(std::io::Error::other("disk full"));
        assert_eq!(TaskOutput::failure(&out).as_deref(), Some("disk full"));
        assert_eq!(TaskOutput::failure(&Ok::<u8, String>(1)), None);
        assert_eq!(TaskOutput::failure(&()), None);
    }

    #[test]
    fn main_errors_render_with_debug() {
        let out: Result<(), String> = Err("bad".into());
        assert_eq!(MainOutput::failure(&out).as_deref(), Some("\"bad\""));
    }
}
