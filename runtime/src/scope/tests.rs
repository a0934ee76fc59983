//! Unit tests of the scope tree.

use super::*;
use crate::notify::Notifier;

/// A scope per connection or per request, dropped when done, does not
/// grow the tree: the parent keeps a bounded number of children.
#[tokio::test]
async fn spent_child_scopes_are_pruned() {
    let shared = Arc::new(Process::new(
        false,
        tokio::runtime::Handle::current(),
        None,
        Notifier::off(),
    ));
    let root = Scope::root(shared, "main");
    let mut peak = 0;
    for _ in 0..10_000 {
        let conn = root.child("conn");
        let origin = Origin::new("request".into(), Location::caller());
        let task = Kind::Task(Policy::Critical);
        let _ = conn.spawn(origin, task, std::future::ready(())).await;
        drop(conn);
        peak = peak.max(root.children());
    }
    assert!(peak <= 32, "the parent kept {peak} children");
}

/// A child that is still referred to is not pruned.
#[tokio::test]
async fn live_child_scopes_are_kept() {
    let shared = Arc::new(Process::new(
        false,
        tokio::runtime::Handle::current(),
        None,
        Notifier::off(),
    ));
    let root = Scope::root(shared, "main");
    let kept: Vec<_> = (0..100).map(|_| root.child("kept")).collect();
    for _ in 0..1_000 {
        drop(root.child("dropped"));
    }
    assert!(root.children() >= kept.len());
    assert!(root.children() < kept.len() + 250, "{}", root.children());
}
