//! The configuration the environment can override at run time, and the
//! error of a value that is not usable.

use std::fmt;
use std::time::Duration;

/// A configuration that cannot be used.
///
/// ```rust,standalone_crate
/// use graceful::{ConfigError, Runtime, env};
///
/// // Safety: a process of its own, one thread so far.
/// unsafe { std::env::set_var(env::TIMEOUT, "soon") };
/// let Err(error) = Runtime::new().env_overrides() else { unreachable!() };
/// assert!(matches!(error, ConfigError::BadDuration { var: "GRACEFUL_TIMEOUT", .. }));
/// println!("{error}"); // GRACEFUL_TIMEOUT=soon is not a duration: write e.g. 30s, 1500ms or 1m 30s
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment override is not a duration, such as
    /// `GRACEFUL_TIMEOUT=soon is not a duration: write e.g. 30s, 1500ms or 1m 30s`.
    BadDuration {
        /// The variable's name.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it and what to write instead.
        reason: String,
    },
    /// The tokio runtime or a signal handler could not be set up.
    Io(std::io::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadDuration { var, value, reason } => write!(f, "{var}={value} {reason}"),
            ConfigError::Io(e) => write!(f, "cannot start: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io(e) => Some(e),
            ConfigError::BadDuration { .. } => None,
        }
    }
}

impl From<std::io::Error> for ConfigError {
    fn from(e: std::io::Error) -> ConfigError {
        ConfigError::Io(e)
    }
}

/// A duration such as `30s`, `1500ms` or `1m 30s`; the error says, in our
/// words, what to write instead.
fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    humantime::parse_duration(value).map_err(|_| {
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            format!("has no unit: write {value}s (seconds) or {value}ms (milliseconds)")
        } else {
            "is not a duration: write e.g. 30s, 1500ms or 1m 30s".to_owned()
        }
    })
}

/// The deadline in `var`, if it is set: a duration that is not zero (a
/// zero deadline would end every shutdown, or every upgrade, at once).
pub(crate) fn deadline_from_env(
    var: &'static str,
    get: impl Fn(&'static str) -> Option<String>,
) -> Result<Option<Duration>, ConfigError> {
    let deadline = from_env(var, &get)?;
    if deadline.is_some_and(|d| d.is_zero()) {
        return Err(ConfigError::BadDuration {
            var,
            value: get(var).unwrap_or_default(),
            reason: "is zero: a zero deadline would end it at once; write e.g. 30s".to_owned(),
        });
    }
    Ok(deadline)
}

/// The duration in `var`, if it is set; read through `get`.
pub(crate) fn from_env(
    var: &'static str,
    get: impl Fn(&'static str) -> Option<String>,
) -> Result<Option<Duration>, ConfigError> {
    get(var)
        .map(|value| {
            parse_duration(&value).map_err(|reason| ConfigError::BadDuration { var, value, reason })
        })
        .transpose()
}
