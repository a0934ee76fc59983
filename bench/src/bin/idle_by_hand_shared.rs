//! The same program as `idle_by_hand`, with a clone of one shared
//! `CancellationToken` per task instead of a child token: the tightest
//! hand-written floor.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const N: usize = 10_000;

#[tokio::main]
async fn main() {
    let mut term = signal(SignalKind::terminate()).unwrap();
    let mut int = signal(SignalKind::interrupt()).unwrap();
    let root = CancellationToken::new();
    let tracker = TaskTracker::new();
    let started = Arc::new(AtomicUsize::new(0));
    for _ in 0..N {
        let (t, s) = (root.clone(), started.clone());
        tracker.spawn(async move {
            s.fetch_add(1, Ordering::AcqRel);
            t.cancelled().await;
        });
    }
    graceful_bench::all_started(&started, N).await;
    println!("ready");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    root.cancel();
    tracker.close();
    tracker.wait().await;
}
