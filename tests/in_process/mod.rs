//! Helpers for the in-process tests under `#[graceful::test]`.
#![allow(dead_code)]

use std::time::Duration;

use graceful::{Context, EventKind, Test};

/// A task that, once its scope is cancelled, takes `linger` to stop.
pub fn worker(ctx: &Context, name: &'static str, linger: Duration) {
    ctx.spawn(name, stop_after(ctx.clone(), linger));
}

async fn stop_after(ctx: Context, linger: Duration) {
    ctx.cancelled().await;
    tokio::time::sleep(linger).await;
}

/// The events so far, as text.
pub fn events(test: &Test) -> Vec<String> {
    test.events().iter().map(ToString::to_string).collect()
}

/// The names of the events of `kind` so far, in order.
pub fn named(test: &Test, kind: EventKind) -> Vec<String> {
    let events = test.events().into_iter();
    events.filter(|e| e.kind == kind).map(|e| e.name).collect()
}
