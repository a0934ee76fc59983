//! The same program as `idle_graceful`, written with tokio-graceful-shutdown:
//! 10 000 idle subsystems under a `Toplevel` that catches the signals.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};

const N: usize = 10_000;

#[tokio::main]
async fn main() {
    Toplevel::new(async |s: &mut SubsystemHandle| {
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..N {
            let started = started.clone();
            s.start(SubsystemBuilder::new(
                "idle",
                async move |s: &mut SubsystemHandle| {
                    started.fetch_add(1, Ordering::AcqRel);
                    s.on_shutdown_requested().await;
                    Ok::<(), Infallible>(())
                },
            ));
        }
        graceful_bench::all_started(&started, N).await;
        println!("ready");
    })
    .catch_signals()
    .handle_shutdown_requests(Duration::from_secs(30))
    .await
    .unwrap();
}
