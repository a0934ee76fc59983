//! Panic locations and the process-global panic hook. The hook is the
//! process's, so this binary holds one test, in steps, and nothing else.

use std::sync::atomic::{AtomicUsize, Ordering};

use gracefully_runtime::report::{FailureKind, Panic};
use gracefully_runtime::{Flavor, Report, Runtime};

/// The panic of the only failure of `report`.
fn the_panic(report: &Report) -> &Panic {
    match &report.failures[..] {
        [failure] => match &failure.kind {
            FailureKind::Panic(panic) => panic,
            other => panic!("not a panic: {other}"),
        },
        other => panic!("not one failure: {other:?}"),
    }
}

fn panicking_task(workers: usize) -> Report {
    Runtime::new()
        .signals([])
        .flavor(Flavor::MultiThread)
        .worker_threads(workers)
        .block_on(|ctx| async move {
            // A location left on the thread that awaits the task by a panic
            // caught there, which a read on the wrong thread would report.
            let _ = std::panic::catch_unwind(|| panic!("caught by main"));
            let task = ctx.spawn("parser", async {
                tokio::task::yield_now().await;
                panic!("unexpected token") // line 31
            });
            let _ = task.await;
        })
}

#[test]
fn locations_come_from_the_panicking_thread_and_a_replaced_hook_is_said() {
    // A hook installed before the runtime starts still runs: the runtime's
    // chains to it.
    static EARLIER_HOOK_RAN: AtomicUsize = AtomicUsize::new(0);
    std::panic::set_hook(Box::new(|_| {
        EARLIER_HOOK_RAN.fetch_add(1, Ordering::Relaxed);
    }));

    for workers in [1, 2] {
        let report = panicking_task(workers);
        let panic = the_panic(&report);
        assert_eq!(panic.message, "unexpected token");
        let at = panic.location.as_deref().unwrap_or_default();
        assert!(at.contains("panic_hook.rs:31:"), "{at}");
        assert_eq!(panic.location_unknown(), None);
    }
    // Two panics for each run, both seen by the earlier hook.
    assert_eq!(EARLIER_HOOK_RAN.load(Ordering::Relaxed), 4);

    // A hook set after the runtime started replaces the runtime's: the
    // report says why it has no location, rather than nothing.
    std::panic::set_hook(Box::new(|_| {}));
    let report = panicking_task(2);
    let panic = the_panic(&report);
    assert_eq!(panic.location, None);
    let why = panic.location_unknown().unwrap_or_default();
    assert!(why.starts_with("the panic hook was replaced"), "{why}");
    let line = report.failures[0].to_string();
    assert!(
        line.contains("panicked (location unknown: the panic hook was replaced"),
        "{line}"
    );
    let _ = std::panic::take_hook();
}
