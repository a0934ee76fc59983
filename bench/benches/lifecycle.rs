//! Spawn-and-join, cancel-and-join and nested-scope drain, for every
//! contender in one run. Run through `bench/run` (see BENCHMARKS.md).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use graceful_bench::{BATCH, cancel_join, nested, spawn_join};

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
        [by_hand, graceful, tokio_graceful_shutdown]
    );
    g.finish();
}

/// Rounds of the paired cancel + join measurement, per task count: a
/// multiple of 3, so that every contender goes first, second and third
/// equally often.
const PAIRED: [(usize, usize); 2] = [(10_000, 102), (100_000, 33)];

/// Cancel + join again, with the contenders alternated: the machine's load
/// drifts between criterion's runs of one contender and the next, while
/// the runs of one round see the same load. Each round runs the floor and
/// both graceful contenders once, rotating who goes first. Prints, for each
/// graceful contender, its median time over the rounds divided by the
/// floor's, and the quartiles of the per-round ratios; writes them to
/// `target/criterion/paired.json` for `bench/table.py`.
fn cancel_and_join_paired(_: &mut Criterion) {
    let rt = runtime();
    type Contender = fn(usize, fn()) -> std::pin::Pin<Box<dyn Future<Output = Duration>>>;
    let contenders: [(&str, Contender); 3] = [
        ("by_hand", |n, r| Box::pin(cancel_join::by_hand(n, r))),
        ("graceful_spawn", |n, r| {
            Box::pin(cancel_join::graceful_spawn(n, r))
        }),
        ("graceful_task_macro", |n, r| {
            Box::pin(cancel_join::graceful_task_macro(n, r))
        }),
    ];
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let quartiles = (v[v.len() / 4], v[v.len() * 3 / 4]);
        (v[v.len() / 2], quartiles)
    };
    let mut json = Vec::new();
    for (n, rounds) in PAIRED {
        let mut took: [Vec<f64>; 3] = Default::default();
        for round in 0..rounds {
            for k in 0..3 {
                let i = (round + k) % 3;
                took[i].push(rt.block_on(contenders[i].1(n, || {})).as_secs_f64());
            }
        }
        let (floor, _) = median(took[0].clone());
        for ((name, _), times) in contenders[1..].iter().zip(&took[1..]) {
            let (ours, _) = median(times.clone());
            let ratio = ours / floor;
            let per_round = times.iter().zip(&took[0]).map(|(t, f)| t / f).collect();
            let (_, (q1, q3)) = median(per_round);
            println!(
                "paired: cancel_join/{name}/{n} / by_hand: {ratio:.3}x (per-round ratios' quartiles {q1:.3}x .. {q3:.3}x; {rounds} alternated rounds)"
            );
            json.push(format!(
                r#"{{"contender":"{name}","tasks":{n},"rounds":{rounds},"ratio":{ratio},"q1":{q1},"q3":{q3}}}"#
            ));
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("paired.json"), format!("[{}]\n", json.join(","))).unwrap();
}

criterion_group!(
    benches,
    spawn_and_join,
    cancel_and_join,
    cancel_and_join_paired,
    nested_scopes
);
criterion_main!(benches);
