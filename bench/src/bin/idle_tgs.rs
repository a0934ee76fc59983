//! The same program as `idle_graceful`, written with tokio-graceful-shutdown:
//! 10 000 idle subsystems under a `Toplevel` that catches the signals.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio_graceful_shutdown::{SubsystemHandle, Toplevel};

const N: usize = 10_000;

#[tokio::main]
async fn main() {
    Toplevel::new(async |s: &mut SubsystemHandle| {
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..N {
            graceful_bench::start_idle_subsystem(s, &started);
        }
        graceful_bench::all_started(&started, N).await;
        println!("ready");
    })
    .catch_signals()
    .handle_shutdown_requests(Duration::from_secs(30))
    .await
    .unwrap();
}
