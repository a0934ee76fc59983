//! The error a task, hook or `main` returned, kept as the value it was:
//! shared between the report and the task's handle, text only when printed.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// The error a task, hook or `main` returned, kept as its value.
///
/// Its [`TaskOutput`](crate::TaskOutput) turned it into a
/// `Box<dyn Error + Send + Sync>` (what `?` and `anyhow` convert to), and it
/// is shared, not copied, between the final report and the task's
/// [`TaskHandle`](crate::TaskHandle). [`downcast_ref`](Self::downcast_ref)
/// finds the user's type again, in the error or in its chain of causes
/// ([`source`](StdError::source)); `{}` prints the error, `{:#}` the error
/// and its causes, joined by `: ` (as `anyhow` does), which is what the
/// report prints.
///
/// ```
/// use graceful::Runtime;
/// use graceful::report::FailureKind;
///
/// #[derive(Debug)]
/// struct DiskFull(u64);
/// impl std::fmt::Display for DiskFull {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "no room for {} more bytes", self.0)
///     }
/// }
/// impl std::error::Error for DiskFull {}
///
/// let report = Runtime::new().signals([]).block_on(|ctx| async move {
///     ctx.spawn("writer", async {
///         Err::<(), _>(anyhow::Error::new(DiskFull(42)).context("writing the journal"))
///     });
/// });
/// let FailureKind::Error(error) = &report.failures[0].kind else { unreachable!() };
/// assert_eq!(error.downcast_ref::<DiskFull>().map(|e| e.0), Some(42)); // a cause, found
/// assert_eq!(format!("{error:#}"), "writing the journal: no room for 42 more bytes");
/// ```
///
/// Two errors are equal when they read the same (`{:#}`): what a test
/// compares is what the report says.
#[derive(Clone)]
pub struct Error(Arc<dyn StdError + Send + Sync + 'static>);

impl Error {
    /// Keeps `error` as the failure's value. An `Error` converted back and
    /// forth (a task returning the `Error` of another) stays the one value.
    pub fn new(error: impl Into<Box<dyn StdError + Send + Sync + 'static>>) -> Error {
        let boxed = error.into();
        match boxed.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(theirs) => Error(Arc::from(theirs)),
        }
    }

    /// The error, or the first of its causes, that is an `E`.
    ///
    /// ```
    /// let error = graceful::report::Error::new(std::io::Error::other("disk full"));
    /// assert_eq!(error.downcast_ref::<std::io::Error>().unwrap().to_string(), "disk full");
    /// assert!(error.downcast_ref::<std::fmt::Error>().is_none());
    /// ```
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        self.chain().find_map(|e| e.downcast_ref::<E>())
    }

    /// The error, then each of its causes.
    ///
    /// ```
    /// let error = graceful::report::Error::new(anyhow::anyhow!("disk full").context("saving"));
    /// let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
    /// assert_eq!(chain, ["saving", "disk full"]);
    /// ```
    pub fn chain(&self) -> impl Iterator<Item = &(dyn StdError + 'static)> {
        let first: &(dyn StdError + 'static) = &*self.0;
        std::iter::successors(Some(first), cause)
    }

    /// The error as it was returned (boxed).
    pub fn get(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }
}

/// The cause of `e`, for as long as `e` lives.
fn cause<'a>(e: &&'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    (*e).source()
}

impl fmt::Display for Error {
    /// `{}`: the error; `{:#}`: the error and its causes, joined by `: `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            return fmt::Display::fmt(&self.0, f);
        }
        for (i, e) in self.chain().enumerate() {
            if i > 0 {
                f.write_str(": ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || format!("{self:#}") == format!("{other:#}")
    }
}

impl Eq for Error {}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::new(message)
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::new(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_made_twice_is_one_value() {
        let first = Error::new(std::io::Error::other("disk full"));
        let again = Error::new(first.clone());
        assert!(Arc::ptr_eq(&first.0, &again.0));
        assert!(again.downcast_ref::<std::io::Error>().is_some());
    }

    #[test]
    fn the_alternate_form_walks_the_causes() {
        let error = Error::new(anyhow::anyhow!("disk full").context("saving"));
        assert_eq!(error.to_string(), "saving");
        assert_eq!(format!("{error:#}"), "saving: disk full");
        assert_eq!(Error::from("plain"), Error::from("plain".to_owned()));
    }
}
