//! What outlived a test: tasks still running and hooks still running or
//! never run, once the test is over.

use std::fmt;

use crate::scope::Scope;

/// A task or hook that a test leaves behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Leftover {
    left: Left,
    name: String,
    scope: String,
    /// Where it was spawned or deferred.
    site: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Left {
    Task,
    RunningHook,
    PendingHook,
}

impl Leftover {
    /// Every task and hook of `root`'s tree still running, and every hook
    /// not run yet.
    pub(crate) fn of(root: &Scope) -> Vec<Leftover> {
        let mut running = Vec::new();
        root.running(&mut running);
        let mut pending = Vec::new();
        root.pending_hooks(&mut pending);
        let running = running.into_iter().map(|r| Leftover {
            left: if r.who.hook {
                Left::RunningHook
            } else {
                Left::Task
            },
            name: r.who.name,
            scope: r.who.scope,
            site: r.who.spawned_at,
        });
        let pending = pending.into_iter().map(|(scope, name, site)| Leftover {
            left: Left::PendingHook,
            name,
            scope,
            site,
        });
        running.chain(pending).collect()
    }
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Leftover {
            name, scope, site, ..
        } = self;
        match self.left {
            Left::Task => write!(
                f,
                "graceful: task `{name}` in scope `{scope}` (spawned at {site}) outlived the test"
            ),
            Left::RunningHook => write!(
                f,
                "graceful: hook `{name}` in scope `{scope}` (deferred at {site}) was still running at the end of the test"
            ),
            Left::PendingHook => write!(
                f,
                "graceful: hook `{name}` in scope `{scope}` (deferred at {site}) never ran"
            ),
        }
    }
}
