//! One cancel + join of `n` idle tasks in a fresh process, for the scale
//! rows (`benches/scale.rs`): `scale heap <contender> <n>` prints the live
//! heap per idle task once all are parked (a counting global allocator,
//! on only in this mode), `scale time <contender> <n>` the time from the
//! trigger until all are joined, per task. Both print the process's peak
//! resident set (`VmHWM`) at the end, in KiB, as one JSON line.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

use graceful_bench::cancel_join;

struct Counting;

/// Set once, before the runtime starts, in `heap` mode only: the timed
/// mode pays no shared counter per allocation.
static COUNT: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static AT_READY: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn ready() {
    AT_READY.store(LIVE.load(Ordering::SeqCst), Ordering::SeqCst);
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, contender, n] = &args[..] else {
        panic!("usage: scale heap|time <contender> <tasks>");
    };
    let n: usize = n.parse().expect("a number of tasks");
    let heap = match mode.as_str() {
        "heap" => true,
        "time" => false,
        _ => panic!("mode is heap or time, not {mode}"),
    };
    COUNT.store(heap, Ordering::SeqCst);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let before = LIVE.load(Ordering::SeqCst);
    let took = rt.block_on(async {
        match contender.as_str() {
            "by_hand" => cancel_join::by_hand(n, ready).await,
            "by_hand_shared" => cancel_join::by_hand_shared(n, ready).await,
            "graceful_spawn" => cancel_join::graceful_spawn(n, ready).await,
            "async_shutdown" => cancel_join::async_shutdown(n, ready).await,
            "tokio_graceful" => cancel_join::tokio_graceful(n, ready).await,
            other => panic!("unknown contender {other}"),
        }
    });
    let value = if heap {
        (AT_READY.load(Ordering::SeqCst) - before) as f64 / n as f64
    } else {
        took.as_nanos() as f64 / n as f64
    };
    println!(r#"{{"value":{value},"peak_rss_kib":{}}}"#, peak_rss_kib());
}
