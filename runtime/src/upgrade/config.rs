//! How an upgrade is done: the builder's values
//! (`runtime/upgrade_options.rs`) and the environment's overrides.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{self, ConfigError};
use crate::env::{UPGRADE_BINARY, UPGRADE_TIMEOUT};

/// How an upgrade is done, as the builder says.
#[derive(Clone, Debug)]
pub(crate) struct UpgradeConfig {
    /// `None`: no upgrade.
    pub(crate) signal: Option<crate::Signal>,
    /// `None`: the binary this process was started from.
    pub(crate) binary: Option<PathBuf>,
    pub(crate) timeout: Duration,
}

impl Default for UpgradeConfig {
    /// `SIGUSR2` (nginx's signal for its binary upgrade; `SIGHUP` reloads,
    /// `SIGUSR1` dumps), this program's binary, 30 s to become ready.
    fn default() -> UpgradeConfig {
        UpgradeConfig {
            signal: Some(crate::Signal::User2),
            binary: None,
            timeout: Duration::from_secs(30),
        }
    }
}

impl UpgradeConfig {
    /// Applies `GRACEFUL_UPGRADE_TIMEOUT` and `GRACEFUL_UPGRADE_BINARY`,
    /// read through `get`.
    pub(crate) fn override_from(
        &mut self,
        get: &impl Fn(&'static str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(timeout) = config::deadline_from_env(UPGRADE_TIMEOUT, get)? {
            self.timeout = timeout;
        }
        if let Some(binary) = get(UPGRADE_BINARY).filter(|b| !b.is_empty()) {
            self.binary = Some(binary.into());
        }
        Ok(())
    }
}
