use std::net::TcpListener;
use std::sync::mpsc;

use super::{offers, sockets};
use crate::Runtime;

/// A runtime of its own, on this thread, that runs `main` then shuts down.
fn lifecycle(main: impl FnOnce(&crate::Context) + Send + 'static) {
    let report = Runtime::new()
        .signals([])
        .dump_signal(None)
        .upgrade_signal(None)
        .flavor(crate::Flavor::CurrentThread)
        .block_on(|ctx| async move {
            main(&ctx);
            ctx.shutdown();
        });
    assert_eq!(report.exit_code(), 0, "{report}");
}

/// The offers are one runtime's: another runtime of the process neither
/// sees them nor, when its shutdown begins, drops them (they used to be
/// one list for the process, which every shutdown cleared).
#[test]
fn two_runtimes_in_one_process_have_offers_of_their_own() {
    let (offered, wait_offered) = mpsc::channel();
    let (other_ended, wait_other) = mpsc::channel::<()>();
    let first = std::thread::spawn(move || {
        lifecycle(move |ctx| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            sockets::offer(ctx, "first", &listener).unwrap();
            offered.send(()).unwrap();
            wait_other.recv().unwrap();
            // The other runtime offered, then began (and ended) its shutdown.
            assert_eq!(offers(ctx.process()).len(), 1, "the first runtime's offer");
        });
    });
    wait_offered.recv().unwrap();
    lifecycle(|ctx| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        sockets::offer(ctx, "second", &listener).unwrap();
        let mine = offers(ctx.process()).duplicates().unwrap();
        let names: Vec<&str> = mine.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            ["second"],
            "the first runtime's offer is not this one's"
        );
    });
    other_ended.send(()).unwrap();
    first.join().unwrap();
}
