//! The contenders, side by side. Each function runs one measurement and
//! returns only the time of the part it claims to measure; set-up (building
//! the supervisor, spawning idle tasks and waiting until every one of them
//! has been polled) happens outside the timed region.

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub mod paired;

use graceful::{Context, Runtime};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Tasks spawned per measured batch in the spawn-and-join rows.
pub const BATCH: usize = 1_000;

/// Waits until `count` reaches `n`: every idle task has been polled once and
/// is parked on its cancellation.
pub async fn all_started(count: &AtomicUsize, n: usize) {
    while count.load(Ordering::Acquire) < n {
        tokio::task::yield_now().await;
    }
}

/// Runs `body` with a live root `Context`, then shuts the runtime down.
///
/// `body` runs on the calling task, the benchmark's thread, as the floor's
/// and the peers' spawns do (not in `main`, which runs on a worker): where a
/// task is spawned decides which run queue it starts in.
pub async fn with_graceful<F, Fut>(body: F) -> Duration
where
    F: FnOnce(Context) -> Fut,
    Fut: Future<Output = Duration>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let supervise = Runtime::new().signals([]).supervise(move |ctx| async move {
        let _ = tx.send(ctx.clone());
        ctx.cancelled().await;
    });
    let drive = async {
        let ctx = rx.await.expect("main runs");
        let took = body(ctx.clone()).await;
        ctx.shutdown();
        took
    };
    let (report, took) = tokio::join!(supervise, drive);
    assert_eq!(report.exit_code(), 0, "{report}");
    took
}

/// Times a graceful shutdown: `start` spawns `n` idle tasks that count
/// themselves in `started`; once all are parked, `ready` is called, the clock
/// starts and `ctx.shutdown()` is called; it stops when the supervisor has
/// drained everything and returned its report.
///
/// The tasks are spawned from the thread that runs the benchmark, as the
/// floor's are (not from `main`, which runs on a worker): where a task is
/// spawned decides which allocator arena holds it and which run queue it
/// starts in, and both change the cost of ending it.
pub async fn time_graceful_shutdown(
    n: usize,
    ready: fn(),
    start: impl FnOnce(&Context, &Arc<AtomicUsize>) + Send + 'static,
) -> Duration {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let supervise = async {
        let report = Runtime::new()
            .signals([])
            .supervise(move |ctx| async move {
                let _ = tx.send(ctx.clone());
                // Alive until the drain, so that no "every task ended" comes
                // before the idle tasks are spawned.
                ctx.cancelled().await;
            })
            .await;
        (report, Instant::now())
    };
    let drive = async {
        let ctx = rx.await.expect("main runs");
        let started = Arc::new(AtomicUsize::new(0));
        start(&ctx, &started);
        all_started(&started, n).await;
        ready();
        let t0 = Instant::now();
        ctx.shutdown();
        t0
    };
    let ((report, end), t0) = tokio::join!(supervise, drive);
    assert_eq!(report.exit_code(), 0, "{report}");
    end - t0
}

/// Starts, under `s`, one idle tokio-graceful-shutdown subsystem that counts
/// itself in `started` and waits for the shutdown.
pub fn start_idle_subsystem(
    s: &tokio_graceful_shutdown::SubsystemHandle,
    started: &Arc<AtomicUsize>,
) {
    use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle};
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

// ---------------------------------------------------------------- spawn+join

pub mod spawn_join {
    use super::*;

    /// The floor: `tokio::spawn` + `TaskTracker::track_future` + a child token.
    pub async fn by_hand(batches: u64) -> Duration {
        let root = CancellationToken::new();
        let tracker = TaskTracker::new();
        let mut handles = Vec::with_capacity(BATCH);
        let start = Instant::now();
        for _ in 0..batches {
            for _ in 0..BATCH {
                let token = root.child_token();
                handles.push(tokio::spawn(tracker.track_future(async move {
                    black_box(token.is_cancelled());
                })));
            }
            for h in handles.drain(..) {
                h.await.unwrap();
            }
        }
        start.elapsed()
    }

    /// The tightest floor: `tokio::spawn` + `TaskTracker::track_future` + a
    /// clone of one shared token.
    pub async fn by_hand_shared(batches: u64) -> Duration {
        let root = CancellationToken::new();
        let tracker = TaskTracker::new();
        let mut handles = Vec::with_capacity(BATCH);
        let start = Instant::now();
        for _ in 0..batches {
            for _ in 0..BATCH {
                let token = root.clone();
                handles.push(tokio::spawn(tracker.track_future(async move {
                    black_box(token.is_cancelled());
                })));
            }
            for h in handles.drain(..) {
                h.await.unwrap();
            }
        }
        start.elapsed()
    }

    pub async fn graceful_spawn(batches: u64) -> Duration {
        with_graceful(move |ctx| async move {
            let mut handles = Vec::with_capacity(BATCH);
            let start = Instant::now();
            for _ in 0..batches {
                for _ in 0..BATCH {
                    let c = ctx.clone();
                    handles.push(ctx.spawn("noop", async move {
                        black_box(c.is_cancelled());
                    }));
                }
                for h in handles.drain(..) {
                    h.await.unwrap();
                }
            }
            start.elapsed()
        })
        .await
    }

    /// `ctx.spawn_with(Policy::Isolated, ..)`: the failure policy of a
    /// request's work (reported and counted, never a shutdown).
    pub async fn graceful_isolated(batches: u64) -> Duration {
        with_graceful(move |ctx| async move {
            let mut handles = Vec::with_capacity(BATCH);
            let start = Instant::now();
            for _ in 0..batches {
                for _ in 0..BATCH {
                    let c = ctx.clone();
                    handles.push(
                        ctx.spawn_with(graceful::Policy::Isolated, "noop", async move {
                            black_box(c.is_cancelled());
                        }),
                    );
                }
                for h in handles.drain(..) {
                    h.await.unwrap();
                }
            }
            start.elapsed()
        })
        .await
    }

    /// `ctx.spawn_restarting(..)`: a task restarted on failure (each one
    /// returns `()` at once, so it runs once).
    pub async fn graceful_restart(batches: u64) -> Duration {
        with_graceful(move |ctx| async move {
            let mut handles = Vec::with_capacity(BATCH);
            let start = Instant::now();
            for _ in 0..batches {
                for _ in 0..BATCH {
                    handles.push(ctx.spawn_restarting(
                        "noop",
                        graceful::Restart::new(),
                        |c: Context| async move {
                            black_box(c.is_cancelled());
                        },
                    ));
                }
                for h in handles.drain(..) {
                    h.await.unwrap();
                }
            }
            start.elapsed()
        })
        .await
    }

    #[graceful::task]
    async fn noop(ctx: Context) {
        black_box(ctx.is_cancelled());
    }

    pub async fn graceful_task_macro(batches: u64) -> Duration {
        with_graceful(move |ctx| async move {
            let mut handles = Vec::with_capacity(BATCH);
            let start = Instant::now();
            for _ in 0..batches {
                for _ in 0..BATCH {
                    handles.push(noop(&ctx));
                }
                for h in handles.drain(..) {
                    h.await.unwrap();
                }
            }
            start.elapsed()
        })
        .await
    }

    pub async fn tokio_graceful_shutdown(batches: u64) -> Duration {
        use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};
        let took = Arc::new(std::sync::Mutex::new(Duration::ZERO));
        let out = took.clone();
        Toplevel::new(async move |s: &mut SubsystemHandle| {
            let mut handles = Vec::with_capacity(BATCH);
            let start = Instant::now();
            for _ in 0..batches {
                for _ in 0..BATCH {
                    handles.push(s.start(SubsystemBuilder::new(
                        "noop",
                        async |s: &mut SubsystemHandle| {
                            black_box(s.is_shutdown_requested());
                            Ok::<(), Infallible>(())
                        },
                    )));
                }
                for h in handles.drain(..) {
                    h.join().await.unwrap();
                }
            }
            *out.lock().unwrap() = start.elapsed();
            s.request_shutdown();
        })
        .handle_shutdown_requests(Duration::from_secs(60))
        .await
        .unwrap();
        *took.lock().unwrap()
    }

    pub async fn tokio_graceful(batches: u64) -> Duration {
        let shutdown = tokio_graceful::Shutdown::no_signal();
        let mut handles = Vec::with_capacity(BATCH);
        let start = Instant::now();
        for _ in 0..batches {
            for _ in 0..BATCH {
                handles.push(shutdown.spawn_task_fn(|guard| async move {
                    black_box(&guard);
                }));
            }
            for h in handles.drain(..) {
                h.await.unwrap();
            }
        }
        let took = start.elapsed();
        shutdown.shutdown().await;
        took
    }

    pub async fn async_shutdown(batches: u64) -> Duration {
        let manager = async_shutdown::ShutdownManager::<()>::new();
        let mut handles = Vec::with_capacity(BATCH);
        let start = Instant::now();
        for _ in 0..batches {
            for _ in 0..BATCH {
                let m = manager.clone();
                let token = manager.delay_shutdown_token().unwrap();
                handles.push(tokio::spawn(token.wrap_future(async move {
                    black_box(m.is_shutdown_triggered());
                })));
            }
            for h in handles.drain(..) {
                h.await.unwrap();
            }
        }
        start.elapsed()
    }
}

// ------------------------------------------------------------ cancel+join

/// Time from the trigger until `n` idle tasks are all joined. `ready` is
/// called once every task is parked, just before the trigger (the memory
/// benchmark reads the allocator there).
pub mod cancel_join {
    use super::*;

    pub async fn by_hand(n: usize, ready: fn()) -> Duration {
        let root = CancellationToken::new();
        let tracker = TaskTracker::new();
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..n {
            let (token, started) = (root.child_token(), started.clone());
            tracker.spawn(async move {
                started.fetch_add(1, Ordering::AcqRel);
                token.cancelled().await;
            });
        }
        all_started(&started, n).await;
        ready();
        let start = Instant::now();
        root.cancel();
        tracker.close();
        tracker.wait().await;
        start.elapsed()
    }

    /// The tightest floor: a clone of one shared token per task.
    pub async fn by_hand_shared(n: usize, ready: fn()) -> Duration {
        let root = CancellationToken::new();
        let tracker = TaskTracker::new();
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..n {
            let (token, started) = (root.clone(), started.clone());
            tracker.spawn(async move {
                started.fetch_add(1, Ordering::AcqRel);
                token.cancelled().await;
            });
        }
        all_started(&started, n).await;
        ready();
        let start = Instant::now();
        root.cancel();
        tracker.close();
        tracker.wait().await;
        start.elapsed()
    }

    /// From `ctx.shutdown()` until the supervisor has drained everything and
    /// returned its report.
    pub async fn graceful_spawn(n: usize, ready: fn()) -> Duration {
        time_graceful_shutdown(n, ready, move |ctx, started| {
            for _ in 0..n {
                let (c, started) = (ctx.clone(), started.clone());
                ctx.spawn("idle", async move {
                    started.fetch_add(1, Ordering::AcqRel);
                    c.cancelled().await;
                });
            }
        })
        .await
    }

    #[graceful::task]
    async fn idle(ctx: Context, started: Arc<AtomicUsize>) {
        started.fetch_add(1, Ordering::AcqRel);
        ctx.cancelled().await;
    }

    pub async fn graceful_task_macro(n: usize, ready: fn()) -> Duration {
        time_graceful_shutdown(n, ready, move |ctx, started| {
            for _ in 0..n {
                idle(ctx, started.clone());
            }
        })
        .await
    }

    pub async fn tokio_graceful_shutdown(n: usize, ready: fn()) -> Duration {
        use tokio_graceful_shutdown::{SubsystemHandle, Toplevel};
        let t0 = Arc::new(std::sync::Mutex::new(None));
        let t = t0.clone();
        Toplevel::new(async move |s: &mut SubsystemHandle| {
            let started = Arc::new(AtomicUsize::new(0));
            for _ in 0..n {
                start_idle_subsystem(s, &started);
            }
            all_started(&started, n).await;
            ready();
            *t.lock().unwrap() = Some(Instant::now());
            s.request_shutdown();
        })
        .handle_shutdown_requests(Duration::from_secs(60))
        .await
        .unwrap();
        t0.lock().unwrap().unwrap().elapsed()
    }

    pub async fn tokio_graceful(n: usize, ready: fn()) -> Duration {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown = tokio_graceful::Shutdown::new(async move {
            let _ = rx.await;
        });
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..n {
            let started = started.clone();
            shutdown.spawn_task_fn(|guard| async move {
                started.fetch_add(1, Ordering::AcqRel);
                guard.cancelled().await;
            });
        }
        all_started(&started, n).await;
        ready();
        let start = Instant::now();
        tx.send(()).unwrap();
        shutdown.shutdown().await;
        start.elapsed()
    }

    pub async fn async_shutdown(n: usize, ready: fn()) -> Duration {
        let manager = async_shutdown::ShutdownManager::<()>::new();
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..n {
            let started = started.clone();
            let cancelled = manager.wait_shutdown_triggered();
            let token = manager.delay_shutdown_token().unwrap();
            tokio::spawn(token.wrap_future(async move {
                started.fetch_add(1, Ordering::AcqRel);
                cancelled.await;
            }));
        }
        all_started(&started, n).await;
        ready();
        let start = Instant::now();
        manager.trigger_shutdown(()).unwrap();
        manager.wait_shutdown_complete().await;
        start.elapsed()
    }
}

// ------------------------------------------------------------ nested scopes

/// Drain of a tree 4 levels deep, 3 children per node, 1 000 idle tasks in
/// each of the 27 leaf scopes: children drain before their parents.
pub mod nested {
    use super::*;

    pub const FANOUT: usize = 3;
    pub const DEPTH: usize = 4;
    pub const PER_LEAF: usize = 1_000;
    pub const TASKS: usize = PER_LEAF * FANOUT.pow(DEPTH as u32 - 1);

    /// The floors: a hand-written tree of tokens and trackers, drained
    /// children first; each leaf task holds a child of its leaf's token
    /// (`by_hand`) or a clone of it (`by_hand_shared`).
    struct Node {
        token: CancellationToken,
        tracker: TaskTracker,
        children: Vec<Node>,
    }

    fn build(
        token: CancellationToken,
        level: usize,
        started: &Arc<AtomicUsize>,
        shared: bool,
    ) -> Node {
        let tracker = TaskTracker::new();
        let mut children = Vec::new();
        if level == DEPTH {
            for _ in 0..PER_LEAF {
                let t = if shared {
                    token.clone()
                } else {
                    token.child_token()
                };
                let s = started.clone();
                tracker.spawn(async move {
                    s.fetch_add(1, Ordering::AcqRel);
                    t.cancelled().await;
                });
            }
        } else {
            for _ in 0..FANOUT {
                children.push(build(token.child_token(), level + 1, started, shared));
            }
        }
        Node {
            token,
            tracker,
            children,
        }
    }

    fn drain(node: Node) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            futures_join_all(node.children.into_iter().map(drain)).await;
            node.token.cancel();
            node.tracker.close();
            node.tracker.wait().await;
        })
    }

    async fn futures_join_all<I: Iterator<Item = F>, F: Future<Output = ()> + Send + 'static>(
        futs: I,
    ) {
        let set: Vec<_> = futs.map(tokio::spawn).collect();
        for h in set {
            h.await.unwrap();
        }
    }

    async fn floor(shared: bool) -> Duration {
        let started = Arc::new(AtomicUsize::new(0));
        let root = build(CancellationToken::new(), 1, &started, shared);
        all_started(&started, TASKS).await;
        let start = Instant::now();
        drain(root).await;
        start.elapsed()
    }

    pub async fn by_hand() -> Duration {
        floor(false).await
    }

    pub async fn by_hand_shared() -> Duration {
        floor(true).await
    }

    fn build_scopes(ctx: &Context, level: usize, started: &Arc<AtomicUsize>) {
        if level == DEPTH {
            for _ in 0..PER_LEAF {
                let (c, s) = (ctx.clone(), started.clone());
                ctx.spawn("idle", async move {
                    s.fetch_add(1, Ordering::AcqRel);
                    c.cancelled().await;
                });
            }
        } else {
            for i in 0..FANOUT {
                build_scopes(&ctx.scope(&format!("s{i}")), level + 1, started);
            }
        }
    }

    pub async fn graceful() -> Duration {
        time_graceful_shutdown(TASKS, || {}, |ctx, started| build_scopes(ctx, 1, started)).await
    }

    pub async fn tokio_graceful_shutdown() -> Duration {
        use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};

        fn level(s: &SubsystemHandle, depth: usize, started: Arc<AtomicUsize>) {
            if depth == DEPTH {
                for _ in 0..PER_LEAF {
                    start_idle_subsystem(s, &started);
                }
            } else {
                for _ in 0..FANOUT {
                    let started = started.clone();
                    s.start(SubsystemBuilder::new(
                        "scope",
                        async move |s: &mut SubsystemHandle| {
                            level(s, depth + 1, started);
                            s.on_shutdown_requested().await;
                            Ok::<(), Infallible>(())
                        },
                    ));
                }
            }
        }

        let t0 = Arc::new(std::sync::Mutex::new(None));
        let t = t0.clone();
        Toplevel::new(async move |s: &mut SubsystemHandle| {
            let started = Arc::new(AtomicUsize::new(0));
            level(s, 1, started.clone());
            all_started(&started, TASKS).await;
            *t.lock().unwrap() = Some(Instant::now());
            s.request_shutdown();
        })
        .handle_shutdown_requests(Duration::from_secs(60))
        .await
        .unwrap();
        t0.lock().unwrap().unwrap().elapsed()
    }
}

/// The router of the HTTP rows: one `GET /` answering `hello, world`.
pub fn hello_router() -> axum::Router {
    axum::Router::new().route("/", axum::routing::get(|| async { "hello, world" }))
}

/// Raises this process's soft limit of open files to its hard limit, for
/// the rows that hold 10 000 connections open.
pub fn raise_nofile() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
