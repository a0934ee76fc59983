//! The settings the service reads again on `systemctl reload` (`SIGHUP`),
//! without a restart: a file of `KEY=value` lines (`#` starts a comment)
//! named by `SETTINGS`, as `deploy/graceful-service.service` does. Without
//! `SETTINGS` there is nothing to reload, and `JOB_MS` comes from the
//! environment.
//!
//! A file that cannot be read, an unknown key or a bad value stops the
//! start-up (exit 1), and fails a reload, which keeps what the service had
//! and says why on stderr (the runtime prints a reload hook's error).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};

/// The reloadable settings.
pub struct Settings {
    path: Option<PathBuf>,
    /// The simulated work per job, in milliseconds.
    job_ms: AtomicU64,
}

impl Settings {
    /// `JOB_MS` from the environment (default 1), then the file `SETTINGS`
    /// names, if any, over it.
    pub fn load() -> anyhow::Result<Settings> {
        let job_ms = match std::env::var("JOB_MS") {
            Ok(ms) => job_ms(&ms).context("JOB_MS")?,
            Err(_) => 1,
        };
        let settings = Settings {
            path: std::env::var_os("SETTINGS").map(PathBuf::from),
            job_ms: AtomicU64::new(job_ms),
        };
        if let Some(ms) = settings.read()? {
            settings.job_ms.store(ms, Ordering::Relaxed);
        }
        Ok(settings)
    }

    /// Whether there is a file to read again.
    pub fn reloadable(&self) -> bool {
        self.path.is_some()
    }

    /// The simulated work per job, as last read.
    pub fn job_time(&self) -> Duration {
        Duration::from_millis(self.job_ms.load(Ordering::Relaxed))
    }

    /// Reads the file again; on an error, keeps what it had.
    pub fn reload(&self) -> anyhow::Result<()> {
        let Some(ms) = self.read()? else {
            return Ok(());
        };
        let was = self.job_ms.swap(ms, Ordering::Relaxed);
        let path = self.path.as_deref().unwrap_or_else(|| "?".as_ref());
        println!(
            "settings reloaded from {}: JOB_MS={ms} (was {was})",
            path.display()
        );
        Ok(())
    }

    /// `JOB_MS` as the file says, if there is a file and it says it.
    fn read(&self) -> anyhow::Result<Option<u64>> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("SETTINGS={}: cannot read it", path.display()))?;
        let mut found = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let at = || format!("{}:{}", path.display(), n + 1);
            match line.split_once('=') {
                Some(("JOB_MS", ms)) => {
                    found = Some(job_ms(ms.trim()).with_context(|| format!("{}: JOB_MS", at()))?);
                }
                Some((key, _)) => bail!("{}: unknown setting `{key}` (known: JOB_MS)", at()),
                None => bail!("{}: `{line}` is not KEY=value", at()),
            }
        }
        Ok(found)
    }
}

fn job_ms(ms: &str) -> anyhow::Result<u64> {
    ms.parse()
        .with_context(|| format!("`{ms}` is not a whole number of milliseconds"))
}
