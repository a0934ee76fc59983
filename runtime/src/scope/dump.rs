//! The task dump of a scope tree: each scope with its live tasks, running
//! and pending hooks, and what it says it has in flight.

use std::fmt::Write as _;

use super::Scope;
use crate::console::Secs;
use crate::sync::lock;

impl Scope {
    /// Appends this scope and its subtree to `out`, one line each, leaving
    /// out scopes where nothing runs or waits.
    pub(crate) fn dump(&self, out: &mut String) {
        self.dump_at(0, out);
    }

    /// Every hook of this subtree not run yet: its scope's path, its name
    /// and where it was deferred.
    #[cfg(feature = "test-util")]
    pub(crate) fn pending_hooks(&self, out: &mut Vec<(String, String, String)>) {
        let children =
            {
                let inner = lock(&self.inner);
                out.extend(inner.hooks.iter().rev().map(|(name, at, _)| {
                    (self.path().to_owned(), name.to_string(), at.to_string())
                }));
                inner.children.clone()
            };
        for child in children {
            child.pending_hooks(out);
        }
    }

    fn dump_at(&self, depth: usize, out: &mut String) {
        let (children, describers, pending) = {
            let inner = lock(&self.inner);
            let pending: Vec<String> = inner
                .hooks
                .iter()
                .rev()
                .map(|(name, at, _)| format!("hook `{name}`, deferred at {at}, pending"))
                .collect();
            (inner.children.clone(), inner.describers.clone(), pending)
        };
        let indent = "  ".repeat(depth + 1);
        let mut own = String::new();
        let cancelled_at = self.cancelled_at.get().copied();
        self.registry.dump(&indent, cancelled_at, &mut own);
        for hook in pending {
            let _ = write!(own, "\n{indent}- {hook}");
        }
        let in_flight: Vec<String> = describers.iter().flat_map(|d| d()).collect();
        if !in_flight.is_empty() {
            let _ = write!(own, "\n{indent}- in flight:");
            for line in in_flight {
                let _ = write!(own, "\n{indent}    {line}");
            }
        }
        let mut below = String::new();
        for child in &children {
            child.dump_at(depth + 1, &mut below);
        }
        if own.is_empty() && below.is_empty() {
            return;
        }
        let state = match cancelled_at {
            Some(t) => format!("cancelled {} ago", Secs(t.elapsed())),
            None => "running".to_owned(),
        };
        let _ = write!(
            out,
            "\n{}scope `{}` ({state})",
            "  ".repeat(depth),
            self.path()
        );
        out.push_str(&own);
        out.push_str(&below);
    }
}
