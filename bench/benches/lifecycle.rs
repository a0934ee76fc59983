//! Spawn-and-join, cancel-and-join and nested-scope drain, for every
//! contender in one run. Run through `bench/run` (see BENCHMARKS.md).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use graceful_bench::{BATCH, cancel_join, nested, paired, spawn_join};

/// Calls a contender with its argument, whether a unit, one value or a pair.
trait Call<A> {
    fn call(self, arg: A) -> impl Future<Output = Duration>;
}
impl<F: FnOnce() -> Fut, Fut: Future<Output = Duration>> Call<()> for F {
    fn call(self, (): ()) -> impl Future<Output = Duration> {
        self()
    }
}
impl<F: FnOnce(A, B) -> Fut, Fut: Future<Output = Duration>, A, B> Call<(A, B)> for F {
    fn call(self, (a, b): (A, B)) -> impl Future<Output = Duration> {
        self(a, b)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

macro_rules! contenders {
    ($group:expr, $rt:expr, $param:expr, $module:ident, $arg:expr, [$($name:ident),*]) => {
        $(
            $group.bench_with_input(BenchmarkId::new(stringify!($name), $param), &$arg, |b, &arg| {
                b.to_async(&$rt).iter_custom(|iters| async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += $crate::Call::call($module::$name, arg).await;
                    }
                    total
                })
            });
        )*
    };
}

fn spawn_and_join(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("spawn_join");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for name in [
        "by_hand",
        "by_hand_shared",
        "graceful_spawn",
        "graceful_task_macro",
        "tokio_graceful_shutdown",
        "tokio_graceful",
        "async_shutdown",
    ] {
        g.bench_function(BenchmarkId::new(name, BATCH), |b| {
            b.to_async(&rt).iter_custom(|batches| async move {
                match name {
                    "by_hand" => spawn_join::by_hand(batches).await,
                    "by_hand_shared" => spawn_join::by_hand_shared(batches).await,
                    "graceful_spawn" => spawn_join::graceful_spawn(batches).await,
                    "graceful_task_macro" => spawn_join::graceful_task_macro(batches).await,
                    "tokio_graceful_shutdown" => spawn_join::tokio_graceful_shutdown(batches).await,
                    "tokio_graceful" => spawn_join::tokio_graceful(batches).await,
                    _ => spawn_join::async_shutdown(batches).await,
                }
            })
        });
    }
    g.finish();
}

fn cancel_and_join(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("cancel_join");
    // 20 samples: with 10, one slow minute of this VM moved a median by 30 %.
    g.sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_millis(500));
    for n in [10_000usize, 100_000] {
        g.throughput(Throughput::Elements(n as u64));
        contenders!(
            g,
            rt,
            n,
            cancel_join,
            (n, (|| {}) as fn()),
            [
                by_hand,
                by_hand_shared,
                graceful_spawn,
                graceful_task_macro,
                tokio_graceful_shutdown,
                tokio_graceful,
                async_shutdown
            ]
        );
    }
    g.finish();
}

fn nested_scopes(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("nested_drain");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Elements(nested::TASKS as u64));
    contenders!(
        g,
        rt,
        nested::TASKS,
        nested,
        (),
        [by_hand, by_hand_shared, graceful, tokio_graceful_shutdown]
    );
    g.finish();
}

/// Paired rounds (see `graceful_bench::paired`) of every row with a
/// target, and of the failure-policy rows; round counts are multiples of
/// the number of contenders where that is cheap, so that each goes first
/// equally often. Writes `paired-lifecycle.json` for `bench/table.py`.
fn paired_rows(_: &mut Criterion) {
    let rt = runtime();
    let mut json = Vec::new();

    const SPAWN_BATCHES: u64 = 40;
    let per = (SPAWN_BATCHES as usize * BATCH) as f64;
    macro_rules! spawn_join {
        ($($name:ident),*) => {
            [$((stringify!($name), &(|| rt.block_on(spawn_join::$name(SPAWN_BATCHES))) as &dyn Fn() -> Duration)),*]
        };
    }
    json.extend(paired::run(
        "spawn + join, per task",
        60,
        per,
        &spawn_join!(
            by_hand,
            by_hand_shared,
            graceful_spawn,
            graceful_task_macro,
            tokio_graceful,
            async_shutdown
        ),
    ));
    json.extend(paired::run(
        "failure policy: spawn + join, per task",
        60,
        per,
        &spawn_join!(
            by_hand_shared,
            graceful_spawn,
            graceful_isolated,
            graceful_restart
        ),
    ));

    for (n, rounds) in [(10_000usize, 60), (100_000, 18)] {
        macro_rules! cancel_join {
            ($($name:ident),*) => {
                [$((stringify!($name), &(|| rt.block_on(cancel_join::$name(n, || {}))) as &dyn Fn() -> Duration)),*]
            };
        }
        json.extend(paired::run(
            &format!("cancel + join {n} idle tasks"),
            rounds,
            1.0,
            &cancel_join!(
                by_hand,
                by_hand_shared,
                graceful_spawn,
                graceful_task_macro,
                tokio_graceful,
                async_shutdown
            ),
        ));
    }

    json.extend(paired::run(
        "drain 4-level tree, 27 000 tasks",
        30,
        1.0,
        &[
            ("by_hand", &|| rt.block_on(nested::by_hand())),
            ("by_hand_shared", &|| rt.block_on(nested::by_hand_shared())),
            ("graceful", &|| rt.block_on(nested::graceful())),
        ],
    ));
    paired::write("lifecycle", &json);
}

criterion_group!(
    benches,
    spawn_and_join,
    cancel_and_join,
    paired_rows,
    nested_scopes
);
criterion_main!(benches);
