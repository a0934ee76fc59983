//! 10 000 idle tasks under graceful; prints `ready` once all are parked and
//! exits when SIGTERM has drained them. Timed by `benches/signal.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const N: usize = 10_000;

fn main() {
    graceful::Runtime::new().run(|ctx| async move {
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..N {
            let (c, s) = (ctx.clone(), started.clone());
            ctx.spawn("idle", async move {
                s.fetch_add(1, Ordering::AcqRel);
                c.cancelled().await;
            });
        }
        graceful_bench::all_started(&started, N).await;
        println!("ready");
    })
}
