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

/// A drain order that would wait for itself is refused, naming both.
#[tokio::test]
async fn a_drain_order_that_waits_for_itself_is_refused() {
    let shared = Arc::new(Process::new(
        false,
        tokio::runtime::Handle::current(),
        None,
        Notifier::off(),
    ));
    let root = Scope::root(shared, "main");
    let (http, db) = (root.child("http"), root.child("db"));
    let pool = db.child("pool");
    assert_eq!(db.drain_after(&http), Ok(()));
    assert_eq!(
        http.drain_after(&db),
        Err("scope `main/http` cannot drain after `main/db`: that one already drains after this one".into())
    );
    assert!(pool.drain_after(&root).unwrap_err().contains("ancestor"));
    assert!(pool.drain_after(&db).unwrap_err().contains("ancestor"));
    assert!(db.drain_after(&db).unwrap_err().contains("same scope"));
    // Not a cycle: the pool may wait for a sibling of its parent.
    assert_eq!(pool.drain_after(&http), Ok(()));
}
