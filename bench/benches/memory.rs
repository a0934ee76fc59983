//! Bytes per idle tracked task, for every contender: a counting global
//! allocator reads the live heap before the contender starts and once its
//! `N` idle tasks are all parked on their cancellation. Prints a table and
//! writes `target/criterion/memory.json` for `bench/table.py`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use graceful_bench::cancel_join;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static AT_READY: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn ready() {
    AT_READY.store(LIVE.load(Ordering::SeqCst), Ordering::SeqCst);
}

const N: usize = 10_000;

/// Runs one contender's cancel-and-join of `n` idle tasks.
type Contender = fn(usize, fn()) -> std::pin::Pin<Box<dyn Future<Output = std::time::Duration>>>;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument, if any, is ignored.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let contenders: [(&str, Contender); 7] = [
        ("by_hand", |n, r| Box::pin(cancel_join::by_hand(n, r))),
        ("by_hand_shared", |n, r| {
            Box::pin(cancel_join::by_hand_shared(n, r))
        }),
        ("graceful_spawn", |n, r| {
            Box::pin(cancel_join::graceful_spawn(n, r))
        }),
        ("graceful_task_macro", |n, r| {
            Box::pin(cancel_join::graceful_task_macro(n, r))
        }),
        ("tokio_graceful_shutdown", |n, r| {
            Box::pin(cancel_join::tokio_graceful_shutdown(n, r))
        }),
        ("tokio_graceful", |n, r| {
            Box::pin(cancel_join::tokio_graceful(n, r))
        }),
        ("async_shutdown", |n, r| {
            Box::pin(cancel_join::async_shutdown(n, r))
        }),
    ];
    let mut rows = Vec::new();
    for (name, run) in contenders {
        // Warm up once (lazy statics, thread pools), then take the median of 5.
        rt.block_on(run(N, ready));
        let mut samples: Vec<f64> = (0..5)
            .map(|_| {
                let before = LIVE.load(Ordering::SeqCst);
                rt.block_on(run(N, ready));
                (AT_READY.load(Ordering::SeqCst) - before) as f64 / N as f64
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        let median = samples[2];
        println!("memory/{name:<24} {median:>8.1} bytes per idle task");
        rows.push(format!("\"{name}\": {median:.1}"));
    }
    let dir = graceful_bench::paired::out_dir();
    std::fs::write(
        dir.join("memory.json"),
        format!("{{{}}}\n", rows.join(", ")),
    )
    .unwrap();
}
